import { MemoryEventBus, type MemoryEventBusOptions } from './memory-bus.js';
import { NatsEventBus, type NatsEventBusOptions } from './nats-bus.js';
import type { EventBus } from './types.js';

export type EventBusConfig = ({ kind: 'memory' } & MemoryEventBusOptions) | ({ kind: 'nats' } & NatsEventBusOptions);

/** `{ kind: 'memory' }` for embedded mode, `{ kind: 'nats', servers | nc }` for the cluster. */
export async function createEventBus(config: EventBusConfig): Promise<EventBus> {
  if (config.kind === 'memory') return new MemoryEventBus(config);
  return NatsEventBus.connect(config);
}
