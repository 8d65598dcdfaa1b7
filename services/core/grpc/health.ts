/**
 * Standard gRPC health checking (grpc.health.v1.Health), hand-written: Check answers the status
 * of a service name ("" = the whole server), NOT_FOUND for names never registered; Watch
 * streams the current status and every change.
 */
import { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import { makeGenericClientConstructor, type ChannelCredentials, type Client, type ClientOptions, type ClientReadableStream, type ClientUnaryCall, type Metadata, type CallOptions, type ServiceError } from '@grpc/grpc-js';
import { NotFound } from '../errors.js';
import { defineService, serverStream, unary, type ServiceRegistration } from './handlers.js';

export enum ServingStatus {
  UNKNOWN = 0,
  SERVING = 1,
  NOT_SERVING = 2,
  SERVICE_UNKNOWN = 3,
}

export interface HealthCheckRequest {
  service: string;
}
export interface HealthCheckResponse {
  status: ServingStatus;
}

function encodeRequest(m: HealthCheckRequest): Buffer {
  const w = new BinaryWriter();
  if (m.service !== '') w.uint32(10).string(m.service);
  return Buffer.from(w.finish());
}
function decodeRequest(b: Uint8Array): HealthCheckRequest {
  const r = new BinaryReader(b);
  const out: HealthCheckRequest = { service: '' };
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (field === 1 && wireType === 2) out.service = r.string();
    else r.skip(wireType);
  }
  return out;
}
function encodeResponse(m: HealthCheckResponse): Buffer {
  const w = new BinaryWriter();
  if (m.status !== 0) w.uint32(8).int32(m.status);
  return Buffer.from(w.finish());
}
function decodeResponse(b: Uint8Array): HealthCheckResponse {
  const r = new BinaryReader(b);
  const out: HealthCheckResponse = { status: ServingStatus.UNKNOWN };
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (field === 1 && wireType === 0) out.status = r.int32() as ServingStatus;
    else r.skip(wireType);
  }
  return out;
}

export const HealthService = {
  check: {
    path: '/grpc.health.v1.Health/Check' as const,
    requestStream: false as const,
    responseStream: false as const,
    requestSerialize: encodeRequest,
    requestDeserialize: (b: Buffer): HealthCheckRequest => decodeRequest(b),
    responseSerialize: encodeResponse,
    responseDeserialize: (b: Buffer): HealthCheckResponse => decodeResponse(b),
  },
  watch: {
    path: '/grpc.health.v1.Health/Watch' as const,
    requestStream: false as const,
    responseStream: true as const,
    requestSerialize: encodeRequest,
    requestDeserialize: (b: Buffer): HealthCheckRequest => decodeRequest(b),
    responseSerialize: encodeResponse,
    responseDeserialize: (b: Buffer): HealthCheckResponse => decodeResponse(b),
  },
} as const;

export const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';

export interface HealthClient extends Client {
  check(request: HealthCheckRequest, callback: (error: ServiceError | null, response: HealthCheckResponse) => void): ClientUnaryCall;
  check(
    request: HealthCheckRequest,
    metadata: Metadata,
    options: Partial<CallOptions>,
    callback: (error: ServiceError | null, response: HealthCheckResponse) => void,
  ): ClientUnaryCall;
  watch(request: HealthCheckRequest, metadata?: Metadata, options?: Partial<CallOptions>): ClientReadableStream<HealthCheckResponse>;
}

export const HealthClient = makeGenericClientConstructor(HealthService, 'grpc.health.v1.Health') as unknown as {
  new (address: string, credentials: ChannelCredentials, options?: Partial<ClientOptions>): HealthClient;
  serviceName: string;
};

/** The serving status of every service name of one server. */
export class HealthState {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly listeners = new Set<(service: string, status: ServingStatus) => void>();
  private readonly closeListeners = new Set<() => void>();
  private closedFlag = false;

  /** Ends every Watch stream (server shutting down). */
  close(): void {
    this.closedFlag = true;
    for (const l of this.closeListeners) l();
  }
  get closed(): boolean {
    return this.closedFlag;
  }
  onClose(listener: () => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  set(service: string, status: ServingStatus): void {
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    for (const l of this.listeners) l(service, status);
  }
  /** Sets every known name (and "") to `status`. */
  setAll(status: ServingStatus): void {
    for (const name of new Set(['', ...this.statuses.keys()])) this.set(name, status);
  }
  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }
  entries(): [string, ServingStatus][] {
    return [...this.statuses.entries()];
  }
  onChange(listener: (service: string, status: ServingStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** The grpc.health.v1.Health service answering from `state`. */
export function healthService(state: HealthState): ServiceRegistration<typeof HealthService> {
  return defineService(HealthService, {
    check: unary((req) => {
      const status = state.get(req.service);
      if (status === undefined) throw new NotFound(`unknown service "${req.service}"`);
      return { status };
    }),
    watch: serverStream(async function* (req, ctx) {
      const queue: ServingStatus[] = [state.get(req.service) ?? ServingStatus.SERVICE_UNKNOWN];
      let wake: (() => void) | undefined;
      const off = state.onChange((service, status) => {
        if (service !== req.service) return;
        queue.push(status);
        wake?.();
      });
      const onAbort = (): void => wake?.();
      const offClose = state.onClose(onAbort);
      ctx.signal.addEventListener('abort', onAbort);
      try {
        while (!ctx.signal.aborted) {
          while (queue.length > 0) yield { status: queue.shift()! };
          if (state.closed) return;
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      } finally {
        off();
        offClose();
        ctx.signal.removeEventListener('abort', onAbort);
      }
    }),
  });
}
