import { KvConflictError, InvalidSubjectError } from './errors.js';
import { assertPattern, assertSubject, subjectMatches, workSubject } from './subjects.js';
import type {
  ConsumeOptions,
  EnqueueOptions,
  EventBus,
  EventHandler,
  JobEvent,
  KeyValueStore,
  KvEntry,
  KvWatchEvent,
  KvWatchOptions,
  SubscribeOptions,
  Unsubscribe,
  WorkConsumer,
  WorkHandler,
  WorkMessage,
} from './types.js';

export const DEFAULT_ACK_WAIT_MS = 30_000;
export const DEFAULT_MAX_DELIVER = 5;
export const DEFAULT_NAK_DELAY_MS = 200;
/** JetStream's default duplicate window */
export const DEFAULT_DUPLICATE_WINDOW_MS = 120_000;

type ErrorSink = (err: unknown, context: string) => void;
const defaultErrorSink: ErrorSink = (err, context) => {
  console.error(`[memory-bus] ${context}:`, err);
};

/** Serialises async callbacks per subscriber, like a NATS subscription's message loop. */
class SerialRunner {
  private chain: Promise<void> = Promise.resolve();
  constructor(private readonly onError: ErrorSink, private readonly context: string) {}
  run(fn: () => void | Promise<void>): void {
    this.chain = this.chain.then(fn).catch((err: unknown) => this.onError(err, this.context));
  }
  drain(): Promise<void> {
    return this.chain;
  }
}

interface QueueEntry {
  subject: string;
  payload: string;
  deliveries: number;
  availableAt: number;
}

interface ConsumerState {
  handler: WorkHandler<unknown>;
  concurrency: number;
  ackWaitMs: number;
  maxDeliver: number;
  nakDelayMs: number;
  onError: ((err: unknown, msg: WorkMessage) => void) | undefined;
  inFlight: number;
  stopped: boolean;
  /** handler runs not yet finished */
  running: Set<Promise<void>>;
}

/** In-process work queue with JetStream work-queue semantics (shared consumers, ack/nak, redelivery). */
class ServiceQueue {
  private readonly pending: QueueEntry[] = [];
  private readonly consumers: ConsumerState[] = [];
  private readonly dedupe = new Map<string, number>();
  private rr = 0;
  private wakeTimer: NodeJS.Timeout | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** messages dropped after maxDeliver or term() */
  readonly dropped: Array<{ payload: string; deliveries: number; reason: string }> = [];
  private closed = false;

  constructor(readonly service: string, private readonly onError: ErrorSink) {}

  get depth(): number {
    return this.pending.length;
  }

  enqueue(payload: string, opts: EnqueueOptions, windowMs: number): void {
    const now = Date.now();
    if (opts.msgId !== undefined) {
      for (const [id, exp] of this.dedupe) if (exp <= now) this.dedupe.delete(id);
      if (this.dedupe.has(opts.msgId)) return;
      this.dedupe.set(opts.msgId, now + windowMs);
    }
    this.pending.push({ subject: workSubject(this.service), payload, deliveries: 0, availableAt: now });
    this.dispatch();
  }

  addConsumer(c: ConsumerState): void {
    this.consumers.push(c);
    this.dispatch();
  }

  private nextConsumer(): ConsumerState | undefined {
    const n = this.consumers.length;
    for (let i = 0; i < n; i++) {
      const c = this.consumers[(this.rr + i) % n]!;
      if (!c.stopped && c.inFlight < c.concurrency) {
        this.rr = (this.rr + i + 1) % n;
        return c;
      }
    }
    return undefined;
  }

  dispatch(): void {
    if (this.closed) return;
    const now = Date.now();
    let earliest = Infinity;
    for (let i = 0; i < this.pending.length; ) {
      const entry = this.pending[i]!;
      if (entry.availableAt > now) {
        earliest = Math.min(earliest, entry.availableAt);
        i++;
        continue;
      }
      const consumer = this.nextConsumer();
      if (!consumer) break;
      this.pending.splice(i, 1);
      this.deliver(entry, consumer);
    }
    if (earliest !== Infinity) this.scheduleWake(earliest - now);
  }

  private scheduleWake(delay: number): void {
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.dispatch();
    }, Math.max(0, delay));
  }

  private deliver(entry: QueueEntry, consumer: ConsumerState): void {
    entry.deliveries += 1;
    consumer.inFlight += 1;
    let settled = false;
    let ackTimer: NodeJS.Timeout | undefined;
    const armAckTimer = (): void => {
      if (ackTimer) {
        clearTimeout(ackTimer);
        this.timers.delete(ackTimer);
      }
      ackTimer = setTimeout(() => settle('expired'), consumer.ackWaitMs);
      this.timers.add(ackTimer);
    };
    const settle = (how: 'ack' | 'nak' | 'term' | 'expired', delayMs = 0, reason = ''): void => {
      if (settled) return;
      settled = true;
      if (ackTimer) {
        clearTimeout(ackTimer);
        this.timers.delete(ackTimer);
      }
      consumer.inFlight -= 1;
      if (how === 'nak' || how === 'expired') {
        if (consumer.maxDeliver > 0 && entry.deliveries >= consumer.maxDeliver) {
          this.dropped.push({ payload: entry.payload, deliveries: entry.deliveries, reason: `max deliveries (${consumer.maxDeliver}) reached` });
        } else {
          entry.availableAt = Date.now() + delayMs;
          this.pending.push(entry);
        }
      } else if (how === 'term') {
        this.dropped.push({ payload: entry.payload, deliveries: entry.deliveries, reason: reason || 'terminated' });
      }
      // let the current turn finish before handing out more work
      queueMicrotask(() => this.dispatch());
    };
    const msg: WorkMessage<unknown> = {
      service: this.service,
      subject: entry.subject,
      data: JSON.parse(entry.payload) as unknown,
      deliveryCount: entry.deliveries,
      ack: async () => settle('ack'),
      nak: async (delayMs?: number) => settle('nak', delayMs ?? 0),
      term: async (reason?: string) => settle('term', 0, reason),
      working: () => {
        if (!settled) armAckTimer();
      },
      get settled() {
        return settled;
      },
    };
    armAckTimer();
    const run = (async () => {
      await Promise.resolve(); // never run the handler inside enqueue()/dispatch()
      try {
        await consumer.handler(msg);
        if (!settled) settle('ack');
      } catch (err) {
        if (!settled) settle('nak', consumer.nakDelayMs);
        if (consumer.onError) consumer.onError(err, msg);
        else this.onError(err, `work handler for ${this.service}`);
      }
    })();
    consumer.running.add(run);
    void run.finally(() => consumer.running.delete(run));
  }

  /** Stop handing work to `c` and wait for its running handlers (like the NATS consumer's stop). */
  async removeConsumer(c: ConsumerState): Promise<void> {
    c.stopped = true;
    const i = this.consumers.indexOf(c);
    if (i >= 0) this.consumers.splice(i, 1);
    await Promise.all([...c.running]);
  }

  close(): void {
    this.closed = true;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

const KV_KEY_RE = /^[-/_=a-zA-Z0-9]+(\.[-/_=a-zA-Z0-9]+)*$/;
export function assertKvKey(key: string): void {
  if (!KV_KEY_RE.test(key)) throw new InvalidSubjectError(`invalid kv key ${JSON.stringify(key)}`);
}

/** In-memory KV with revisions and watches, same contract as the JetStream KV adapter. */
export class MemoryKeyValueStore implements KeyValueStore {
  private readonly data = new Map<string, { payload: string; revision: number }>();
  private revision = 0;
  private readonly watchers = new Set<{ pattern: string; handler: (e: KvWatchEvent<unknown>) => void | Promise<void>; runner: SerialRunner }>();

  constructor(private readonly onError: ErrorSink = defaultErrorSink) {}

  async get<T = unknown>(key: string): Promise<KvEntry<T> | null> {
    assertKvKey(key);
    const e = this.data.get(key);
    return e ? { key, value: JSON.parse(e.payload) as T, revision: e.revision } : null;
  }

  private write(key: string, value: unknown): number {
    const payload = JSON.stringify(value);
    if (payload === undefined) throw new InvalidSubjectError(`kv value for ${key} is not JSON-serialisable`);
    const revision = ++this.revision;
    this.data.set(key, { payload, revision });
    this.notify({ key, value: JSON.parse(payload) as unknown, revision, op: 'put' });
    return revision;
  }

  private notify(e: KvWatchEvent<unknown>): void {
    for (const w of this.watchers) {
      if (subjectMatches(w.pattern, e.key)) {
        const copy: KvWatchEvent<unknown> = { ...e, value: e.value === null ? null : (JSON.parse(JSON.stringify(e.value)) as unknown) };
        w.runner.run(() => w.handler(copy));
      }
    }
  }

  async put(key: string, value: unknown): Promise<number> {
    assertKvKey(key);
    return this.write(key, value);
  }

  async create(key: string, value: unknown): Promise<number> {
    assertKvKey(key);
    if (this.data.has(key)) throw new KvConflictError(key, 'key exists');
    return this.write(key, value);
  }

  async update(key: string, value: unknown, revision: number): Promise<number> {
    assertKvKey(key);
    const cur = this.data.get(key);
    if (!cur || cur.revision !== revision) {
      throw new KvConflictError(key, `expected revision ${revision}, found ${cur ? cur.revision : 'none'}`);
    }
    return this.write(key, value);
  }

  async delete(key: string): Promise<void> {
    assertKvKey(key);
    if (!this.data.delete(key)) return;
    this.notify({ key, value: null, revision: ++this.revision, op: 'delete' });
  }

  async watch<T = unknown>(pattern: string, handler: (e: KvWatchEvent<T>) => void | Promise<void>, opts: KvWatchOptions = {}): Promise<Unsubscribe> {
    assertPattern(pattern);
    const w = { pattern, handler: handler as (e: KvWatchEvent<unknown>) => void | Promise<void>, runner: new SerialRunner(this.onError, `kv watch ${pattern}`) };
    if (opts.includeExisting !== false) {
      const existing = [...this.data.entries()].filter(([k]) => subjectMatches(pattern, k)).sort((a, b) => a[1].revision - b[1].revision);
      for (const [key, e] of existing) {
        const ev: KvWatchEvent<unknown> = { key, value: JSON.parse(e.payload) as unknown, revision: e.revision, op: 'put' };
        w.runner.run(() => w.handler(ev));
      }
    }
    this.watchers.add(w);
    return async () => {
      this.watchers.delete(w);
    };
  }
}

export interface MemoryEventBusOptions {
  duplicateWindowMs?: number;
  /** events kept for subscribe({ history: true }) (default 10,000) */
  historyLimit?: number;
  onError?: ErrorSink;
}

/**
 * Event bus for embedded mode and tests: same semantics as the JetStream one
 * (subject wildcards, shared work queues with ack/nak/redelivery and max deliveries,
 * msgId de-duplication, KV with revisions and watches), all in process.
 */
export class MemoryEventBus implements EventBus {
  readonly kind = 'memory' as const;
  readonly kv: MemoryKeyValueStore;
  private readonly subs = new Set<{ pattern: string; handler: EventHandler; runner: SerialRunner }>();
  private readonly queues = new Map<string, ServiceQueue>();
  private readonly onError: ErrorSink;
  private readonly windowMs: number;
  private readonly history: Array<{ subject: string; payload: string }> = [];
  private readonly historyLimit: number;
  private closed = false;

  constructor(opts: MemoryEventBusOptions = {}) {
    this.onError = opts.onError ?? defaultErrorSink;
    this.windowMs = opts.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS;
    this.historyLimit = opts.historyLimit ?? 10_000;
    this.kv = new MemoryKeyValueStore(this.onError);
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('event bus is closed');
  }

  async publish(subject: string, event: JobEvent): Promise<void> {
    this.checkOpen();
    assertSubject(subject);
    const payload = JSON.stringify(event);
    this.history.push({ subject, payload });
    if (this.history.length > this.historyLimit) this.history.splice(0, this.history.length - this.historyLimit);
    for (const s of this.subs) {
      if (subjectMatches(s.pattern, subject)) {
        const copy = JSON.parse(payload) as JobEvent;
        s.runner.run(() => s.handler(copy, subject));
      }
    }
  }

  async subscribe(pattern: string, handler: EventHandler, opts: SubscribeOptions = {}): Promise<Unsubscribe> {
    this.checkOpen();
    assertPattern(pattern);
    const sub = { pattern, handler, runner: new SerialRunner(this.onError, `subscriber ${pattern}`) };
    if (opts.history) {
      for (const h of this.history) {
        if (subjectMatches(pattern, h.subject)) {
          const copy = JSON.parse(h.payload) as JobEvent;
          sub.runner.run(() => handler(copy, h.subject));
        }
      }
    }
    this.subs.add(sub);
    return async () => {
      this.subs.delete(sub);
    };
  }

  private queue(service: string): ServiceQueue {
    workSubject(service); // validates the name
    let q = this.queues.get(service);
    if (!q) {
      q = new ServiceQueue(service, this.onError);
      this.queues.set(service, q);
    }
    return q;
  }

  async enqueue(service: string, message: unknown, opts: EnqueueOptions = {}): Promise<void> {
    this.checkOpen();
    const payload = JSON.stringify(message);
    if (payload === undefined) throw new InvalidSubjectError('work message is not JSON-serialisable');
    this.queue(service).enqueue(payload, opts, this.windowMs);
  }

  async consume<T = unknown>(service: string, handler: WorkHandler<T>, opts: ConsumeOptions = {}): Promise<WorkConsumer> {
    this.checkOpen();
    const q = this.queue(service);
    const state: ConsumerState = {
      handler: handler as WorkHandler<unknown>,
      concurrency: Math.max(1, opts.concurrency ?? 1),
      ackWaitMs: opts.ackWaitMs ?? DEFAULT_ACK_WAIT_MS,
      maxDeliver: opts.maxDeliver ?? DEFAULT_MAX_DELIVER,
      nakDelayMs: opts.nakDelayMs ?? DEFAULT_NAK_DELAY_MS,
      onError: opts.onError,
      inFlight: 0,
      stopped: false,
      running: new Set(),
    };
    q.addConsumer(state);
    return {
      stop: () => q.removeConsumer(state),
    };
  }

  /** Messages waiting on a service queue (not counting in-flight ones). */
  queueDepth(service: string): number {
    return this.queues.get(service)?.depth ?? 0;
  }

  /** Messages a service queue gave up on (max deliveries or term). */
  droppedMessages(service: string): ReadonlyArray<{ payload: string; deliveries: number; reason: string }> {
    return this.queues.get(service)?.dropped ?? [];
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const q of this.queues.values()) q.close();
    this.subs.clear();
  }
}
