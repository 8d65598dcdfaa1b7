import {
  AckPolicy,
  DeliverPolicy,
  JSONCodec,
  KvWatchInclude,
  RetentionPolicy,
  StorageType,
  connect,
  nanos,
  type ConnectionOptions,
  type ConsumerConfig,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type KV,
  type NatsConnection,
  type StreamConfig,
} from 'nats';
import { KvConflictError, InvalidSubjectError } from './errors.js';
import { DEFAULT_ACK_WAIT_MS, DEFAULT_MAX_DELIVER, DEFAULT_NAK_DELAY_MS, assertKvKey } from './memory-bus.js';
import { JOBS_PREFIX, WORK_PREFIX, assertPattern, assertSubject, workSubject } from './subjects.js';
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

export const JOBS_STREAM = 'MODELOPT_JOBS';
export const WORK_STREAM = 'MODELOPT_WORK';
export const JOBS_KV_BUCKET = 'modelopt-jobs';

export interface NatsEventBusOptions {
  /** an open connection (not closed by the bus), or ... */
  nc?: NatsConnection;
  /** ... servers to connect to (default $NATS_URL, then 127.0.0.1:4222) */
  servers?: string | string[];
  connectionOptions?: Partial<ConnectionOptions>;
  /**
   * Isolation for tests and multi-tenant servers: when set, every wire subject gets the
   * prefix `<namespace>.`, and stream / bucket names get a `_<namespace>` / `-<namespace>`
   * suffix. Callers keep using the plain subjects (`modelopt.jobs...`). Unset in production.
   */
  namespace?: string;
  /** how long job events are kept in MODELOPT_JOBS (default 7 days) */
  eventsMaxAgeMs?: number;
  /** KV history per key (default 5) */
  kvHistory?: number;
  /** max unacknowledged messages per service consumer, over all replicas (default 1000) */
  maxAckPending?: number;
  storage?: 'file' | 'memory';
  onError?: (err: unknown, context: string) => void;
}

const jc = JSONCodec();

function isNotFound(err: unknown): boolean {
  const e = err as { code?: string; api_error?: { err_code?: number }; message?: string };
  return e?.code === '404' || e?.api_error?.err_code === 10059 || e?.api_error?.err_code === 10014 || /not found/i.test(e?.message ?? '');
}

/** JetStream-backed event bus: events in MODELOPT_JOBS, work in MODELOPT_WORK (work-queue retention), job state in KV `modelopt-jobs`. */
export class NatsEventBus implements EventBus {
  readonly kind = 'nats' as const;
  readonly nc: NatsConnection;
  readonly jobsStream: string;
  readonly workStream: string;
  readonly kvBucket: string;
  readonly kv: NatsKeyValueStore;
  private readonly js: JetStreamClient;
  private readonly jsm: JetStreamManager;
  private readonly ns: string;
  private readonly owns: boolean;
  private readonly opts: NatsEventBusOptions;
  private readonly onError: (err: unknown, context: string) => void;
  private readonly closers = new Set<() => Promise<void>>();
  private readonly ensuredConsumers = new Map<string, Promise<void>>();

  private constructor(nc: NatsConnection, jsm: JetStreamManager, kv: KV, owns: boolean, opts: NatsEventBusOptions, names: { jobs: string; work: string; kv: string; ns: string }) {
    this.nc = nc;
    this.js = nc.jetstream();
    this.jsm = jsm;
    this.owns = owns;
    this.opts = opts;
    this.ns = names.ns;
    this.jobsStream = names.jobs;
    this.workStream = names.work;
    this.kvBucket = names.kv;
    this.onError = opts.onError ?? ((err, context) => console.error(`[nats-bus] ${context}:`, err));
    this.kv = new NatsKeyValueStore(kv, this.onError, this.closers);
  }

  /** Connect (or adopt `opts.nc`) and make sure the streams and the KV bucket exist. */
  static async connect(opts: NatsEventBusOptions = {}): Promise<NatsEventBus> {
    const owns = !opts.nc;
    const nc = opts.nc ?? (await connect({ servers: opts.servers ?? process.env['NATS_URL'] ?? '127.0.0.1:4222', ...opts.connectionOptions }));
    try {
      const ns = opts.namespace ?? '';
      if (ns && !/^[A-Za-z0-9_-]+$/.test(ns)) throw new InvalidSubjectError(`invalid namespace ${JSON.stringify(ns)}`);
      const names = {
        ns,
        jobs: ns ? `${JOBS_STREAM}_${ns}` : JOBS_STREAM,
        work: ns ? `${WORK_STREAM}_${ns}` : WORK_STREAM,
        kv: ns ? `${JOBS_KV_BUCKET}-${ns}` : JOBS_KV_BUCKET,
      };
      const wire = (s: string): string => (ns ? `${ns}.${s}` : s);
      const jsm = await nc.jetstreamManager();
      const storage = opts.storage === 'memory' ? StorageType.Memory : StorageType.File;
      await ensureStream(jsm, {
        name: names.jobs,
        subjects: [wire(`${JOBS_PREFIX}.>`)],
        retention: RetentionPolicy.Limits,
        storage,
        max_age: nanos(opts.eventsMaxAgeMs ?? 7 * 24 * 3600 * 1000),
      });
      await ensureStream(jsm, {
        name: names.work,
        subjects: [wire(`${WORK_PREFIX}.>`)],
        retention: RetentionPolicy.Workqueue,
        storage,
      });
      const kv = await nc.jetstream().views.kv(names.kv, { history: opts.kvHistory ?? 5, storage });
      return new NatsEventBus(nc, jsm, kv, owns, opts, names);
    } catch (err) {
      if (owns) await nc.close();
      throw err;
    }
  }

  private wire(subject: string): string {
    return this.ns ? `${this.ns}.${subject}` : subject;
  }

  private unwire(subject: string): string {
    return this.ns && subject.startsWith(`${this.ns}.`) ? subject.slice(this.ns.length + 1) : subject;
  }

  async publish(subject: string, event: JobEvent): Promise<void> {
    assertSubject(subject);
    await this.js.publish(this.wire(subject), jc.encode(event));
  }

  async subscribe(pattern: string, handler: EventHandler, opts: SubscribeOptions = {}): Promise<Unsubscribe> {
    assertPattern(pattern);
    const deliver = async (data: Uint8Array, subject: string): Promise<void> => {
      let event: JobEvent;
      try {
        event = jc.decode(data) as JobEvent;
      } catch (err) {
        this.onError(err, `undecodable event on ${subject}`);
        return;
      }
      try {
        await handler(event, this.unwire(subject));
      } catch (err) {
        this.onError(err, `subscriber ${pattern}`);
      }
    };
    if (opts.history) {
      // an ordered (ephemeral, flow-controlled) consumer replays the stream, then follows it
      const consumer = await this.js.consumers.get(this.jobsStream, { filterSubjects: this.wire(pattern) });
      const messages = await consumer.consume();
      const loop = (async () => {
        for await (const m of messages) await deliver(m.data, m.subject);
      })();
      const close = async (): Promise<void> => {
        this.closers.delete(close);
        messages.stop();
        await loop.catch((err: unknown) => this.onError(err, `history subscriber ${pattern}`));
      };
      this.closers.add(close);
      return close;
    }
    const sub = this.nc.subscribe(this.wire(pattern));
    const loop = (async () => {
      for await (const m of sub) await deliver(m.data, m.subject);
    })();
    // make sure the server registered the interest before returning
    await this.nc.flush();
    const close = async (): Promise<void> => {
      this.closers.delete(close);
      sub.unsubscribe();
      await loop;
    };
    this.closers.add(close);
    return close;
  }

  async enqueue(service: string, message: unknown, opts: EnqueueOptions = {}): Promise<void> {
    const subject = this.wire(workSubject(service));
    await this.js.publish(subject, jc.encode(message), opts.msgId !== undefined ? { msgID: opts.msgId } : undefined);
  }

  /** Durable name of a service's queue consumer. */
  durableFor(service: string): string {
    workSubject(service);
    return `work-${service}`;
  }

  private ensureConsumer(service: string, opts: ConsumeOptions): Promise<void> {
    const durable = this.durableFor(service);
    const want: Partial<ConsumerConfig> = {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: this.wire(workSubject(service)),
      ack_wait: nanos(opts.ackWaitMs ?? DEFAULT_ACK_WAIT_MS),
      max_deliver: opts.maxDeliver ?? DEFAULT_MAX_DELIVER,
      max_ack_pending: this.opts.maxAckPending ?? 1000,
    };
    const key = `${durable}|${want.ack_wait}|${want.max_deliver}`;
    let p = this.ensuredConsumers.get(key);
    if (!p) {
      p = (async () => {
        let existing;
        try {
          existing = await this.jsm.consumers.info(this.workStream, durable);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        if (!existing) {
          try {
            await this.jsm.consumers.add(this.workStream, want);
            return;
          } catch (err) {
            // a replica created it concurrently: fall through to the update check
            existing = await this.jsm.consumers.info(this.workStream, durable).catch(() => {
              throw err;
            });
          }
        }
        const c = existing.config;
        if (c.ack_wait !== want.ack_wait || c.max_deliver !== want.max_deliver || c.max_ack_pending !== want.max_ack_pending) {
          await this.jsm.consumers.update(this.workStream, durable, {
            ack_wait: want.ack_wait,
            max_deliver: want.max_deliver,
            max_ack_pending: want.max_ack_pending,
          });
        }
      })();
      this.ensuredConsumers.set(key, p);
      p.catch(() => this.ensuredConsumers.delete(key));
    }
    return p;
  }

  async consume<T = unknown>(service: string, handler: WorkHandler<T>, opts: ConsumeOptions = {}): Promise<WorkConsumer> {
    await this.ensureConsumer(service, opts);
    const concurrency = Math.max(1, opts.concurrency ?? 1);
    const nakDelayMs = opts.nakDelayMs ?? DEFAULT_NAK_DELAY_MS;
    const maxDeliver = opts.maxDeliver ?? DEFAULT_MAX_DELIVER;
    const consumer = await this.js.consumers.get(this.workStream, this.durableFor(service));
    const messages = await consumer.consume({ max_messages: concurrency, expires: 5000 });
    const inFlight = new Set<Promise<void>>();
    const handle = async (m: JsMsg): Promise<void> => {
      let settled = false;
      let data: T;
      try {
        data = m.json<T>();
      } catch (err) {
        m.term('undecodable work message');
        this.onError(err, `undecodable work message on ${m.subject}`);
        return;
      }
      const msg: WorkMessage<T> = {
        service,
        subject: this.unwire(m.subject),
        data,
        deliveryCount: m.info.deliveryCount,
        ack: async () => {
          if (settled) return;
          settled = true;
          await m.ackAck().catch((err: unknown) => this.onError(err, `ack on ${service}`));
        },
        nak: async (delayMs?: number) => {
          if (settled) return;
          settled = true;
          m.nak(delayMs);
        },
        term: async (reason?: string) => {
          if (settled) return;
          settled = true;
          await this.drop(m, reason);
        },
        working: () => {
          if (!settled) m.working();
        },
        get settled() {
          return settled;
        },
      };
      try {
        await handler(msg);
        if (!settled) await msg.ack();
      } catch (err) {
        if (!settled) {
          // after the last allowed delivery the server would keep the message forever: drop it
          if (maxDeliver > 0 && m.info.deliveryCount >= maxDeliver) await msg.term('max deliveries reached');
          else await msg.nak(nakDelayMs);
        }
        if (opts.onError) opts.onError(err, msg as WorkMessage);
        else this.onError(err, `work handler for ${service}`);
      }
    };
    const loop = (async () => {
      for await (const m of messages) {
        const p = handle(m).finally(() => inFlight.delete(p));
        inFlight.add(p);
        if (inFlight.size >= concurrency) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    })();
    const stop = async (): Promise<void> => {
      this.closers.delete(stop);
      messages.stop();
      await loop.catch((err: unknown) => this.onError(err, `consumer loop for ${service}`));
    };
    this.closers.add(stop);
    return { stop };
  }

  /**
   * Terminate a delivery and remove the message from the work-queue stream: a work queue
   * keeps terminated (and over-delivered) messages otherwise, and they would pile up.
   */
  private async drop(m: JsMsg, reason?: string): Promise<void> {
    m.term(reason);
    await this.jsm.streams.deleteMessage(this.workStream, m.seq, false).catch((err: unknown) => {
      if (!isNotFound(err)) this.onError(err, `removing terminated message ${m.seq} from ${this.workStream}`);
    });
  }

  /** Messages waiting for a service (not yet delivered). */
  async queueDepth(service: string): Promise<number> {
    const info = await this.jsm.consumers.info(this.workStream, this.durableFor(service));
    return info.num_pending;
  }

  /** Delete this bus's streams and KV bucket (test namespaces, or a full reset). */
  async destroyResources(): Promise<void> {
    for (const s of [this.jobsStream, this.workStream, `KV_${this.kvBucket}`]) {
      await this.jsm.streams.delete(s).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
    }
  }

  async close(): Promise<void> {
    for (const c of [...this.closers]) await c();
    if (this.owns) await this.nc.drain();
  }
}

async function ensureStream(jsm: JetStreamManager, cfg: Partial<StreamConfig> & { name: string; subjects: string[] }): Promise<void> {
  try {
    const info = await jsm.streams.info(cfg.name);
    const have = new Set(info.config.subjects ?? []);
    if (!cfg.subjects.every((s) => have.has(s))) {
      await jsm.streams.update(cfg.name, { ...info.config, subjects: [...new Set([...have, ...cfg.subjects])] });
    }
    if (info.config.retention !== cfg.retention) {
      throw new Error(`stream ${cfg.name} exists with retention ${info.config.retention}, expected ${cfg.retention}`);
    }
  } catch (err) {
    if (!isNotFound(err)) throw err;
    try {
      await jsm.streams.add(cfg);
    } catch (addErr) {
      // created concurrently by another process with the same config
      await jsm.streams.info(cfg.name).catch(() => {
        throw addErr;
      });
    }
  }
}

/** KeyValueStore over a JetStream KV bucket; values are JSON. */
export class NatsKeyValueStore implements KeyValueStore {
  constructor(
    private readonly kv: KV,
    private readonly onError: (err: unknown, context: string) => void,
    private readonly closers: Set<() => Promise<void>>,
  ) {}

  async get<T = unknown>(key: string): Promise<KvEntry<T> | null> {
    assertKvKey(key);
    const e = await this.kv.get(key);
    if (!e || e.operation !== 'PUT') return null;
    return { key, value: e.json<T>(), revision: e.revision };
  }

  async put(key: string, value: unknown): Promise<number> {
    assertKvKey(key);
    return this.kv.put(key, jc.encode(value));
  }

  async create(key: string, value: unknown): Promise<number> {
    assertKvKey(key);
    try {
      return await this.kv.create(key, jc.encode(value));
    } catch (err) {
      throw asConflict(key, err);
    }
  }

  async update(key: string, value: unknown, revision: number): Promise<number> {
    assertKvKey(key);
    try {
      return await this.kv.update(key, jc.encode(value), revision);
    } catch (err) {
      throw asConflict(key, err);
    }
  }

  async delete(key: string): Promise<void> {
    assertKvKey(key);
    await this.kv.delete(key);
  }

  async watch<T = unknown>(pattern: string, handler: (e: KvWatchEvent<T>) => void | Promise<void>, opts: KvWatchOptions = {}): Promise<Unsubscribe> {
    assertPattern(pattern);
    let resolveReady!: () => void;
    const ready = new Promise<void>((r) => (resolveReady = r));
    const iter = await this.kv.watch({
      key: pattern,
      include: opts.includeExisting === false ? KvWatchInclude.UpdatesOnly : KvWatchInclude.LastValue,
      initializedFn: () => resolveReady(),
    });
    if (opts.includeExisting === false) resolveReady();
    const loop = (async () => {
      for await (const e of iter) {
        const ev: KvWatchEvent<T> =
          e.operation === 'PUT'
            ? { key: e.key, value: e.json<T>(), revision: e.revision, op: 'put' }
            : { key: e.key, value: null, revision: e.revision, op: 'delete' };
        try {
          await handler(ev);
        } catch (err) {
          this.onError(err, `kv watch ${pattern}`);
        }
      }
    })();
    // initializedFn fires once existing values were delivered (or at once when there are none)
    await Promise.race([ready, new Promise((r) => setTimeout(r, 2000).unref())]);
    const close = async (): Promise<void> => {
      this.closers.delete(close);
      iter.stop();
      await loop;
    };
    this.closers.add(close);
    return close;
  }
}

function asConflict(key: string, err: unknown): unknown {
  const e = err as { api_error?: { err_code?: number }; message?: string };
  if (e?.api_error?.err_code === 10071 || /wrong last sequence|key exists/i.test(e?.message ?? '')) {
    return new KvConflictError(key, e.message ?? 'revision mismatch', { cause: err });
  }
  return err;
}
