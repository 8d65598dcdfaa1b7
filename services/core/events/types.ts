import type { ArtifactRef } from '../artifacts/types.js';

/** Last token of a job event subject. */
export type JobEventKind = 'started' | 'progress' | 'completed' | 'failed';
export const JOB_EVENT_KINDS: readonly JobEventKind[] = ['started', 'progress', 'completed', 'failed'];

/** Mirrors modelopt.v1.Progress. */
export interface ProgressInfo {
  /** in [0, 1] */
  fraction: number;
  message: string;
  done?: number;
  total?: number;
}

/** Mirrors modelopt.v1.ErrorInfo. */
export interface ErrorInfo {
  /** gRPC status code name, e.g. "INVALID_ARGUMENT" */
  code: string;
  reason?: string;
  message: string;
}

/**
 * JSON payload of `modelopt.jobs.<jobId>.<stage>.<kind>`. Field names are the camelCase
 * (proto JSON) names of modelopt.v1.JobEvent; `kind` is the subject token ("started", ...),
 * see kindToProto/kindFromProto for the enum names.
 */
export interface JobEvent {
  jobId: string;
  stage: string;
  kind: JobEventKind;
  progress?: ProgressInfo;
  /** artifacts produced by the stage, by role ("model", "table", ...); set for completed */
  results?: Record<string, ArtifactRef>;
  /** set for failed */
  error?: ErrorInfo;
  /** ms since the Unix epoch */
  timestampMs: number;
  /** emitting service instance */
  source?: string;
  /** delivery attempt of the stage, 1 on first try */
  attempt?: number;
}

export type EventHandler = (event: JobEvent, subject: string) => void | Promise<void>;
export type Unsubscribe = () => Promise<void>;

/** One work-queue delivery. If the handler returns without settling it, it is acked; if it throws, it is nak'ed. */
export interface WorkMessage<T = unknown> {
  readonly service: string;
  readonly subject: string;
  readonly data: T;
  /** 1 on first delivery */
  readonly deliveryCount: number;
  ack(): Promise<void>;
  /** redeliver, after `delayMs` if given */
  nak(delayMs?: number): Promise<void>;
  /** never redeliver */
  term(reason?: string): Promise<void>;
  /** extend the ack deadline for long work */
  working(): void;
  readonly settled: boolean;
}

export type WorkHandler<T = unknown> = (msg: WorkMessage<T>) => Promise<void>;

export interface ConsumeOptions {
  /** messages in flight for this consumer instance (default 1) */
  concurrency?: number;
  /** redeliver when not acked within this time (default 30 s) */
  ackWaitMs?: number;
  /** give up after this many deliveries (default 5; -1 = unlimited) */
  maxDeliver?: number;
  /** delay before redelivery when the handler throws (default 200 ms) */
  nakDelayMs?: number;
  /** called when a handler throws (after the message was nak'ed) */
  onError?: (err: unknown, msg: WorkMessage) => void;
}

export interface WorkConsumer {
  stop(): Promise<void>;
}

export interface EnqueueOptions {
  /** de-duplication id: a second enqueue with the same id within the window is dropped */
  msgId?: string;
}

export interface KvEntry<T = unknown> {
  key: string;
  value: T;
  revision: number;
}

export interface KvWatchEvent<T = unknown> {
  key: string;
  /** null for a delete */
  value: T | null;
  revision: number;
  op: 'put' | 'delete';
}

export interface KvWatchOptions {
  /** deliver the current value of matching keys first (default true) */
  includeExisting?: boolean;
}

/** JSON values by key; keys are dot-separated tokens, watch patterns take * and >. */
export interface KeyValueStore {
  get<T = unknown>(key: string): Promise<KvEntry<T> | null>;
  put(key: string, value: unknown): Promise<number>;
  /** write only if the key does not exist; throws KvConflictError otherwise */
  create(key: string, value: unknown): Promise<number>;
  /** write only if the current revision is `revision`; throws KvConflictError otherwise */
  update(key: string, value: unknown, revision: number): Promise<number>;
  delete(key: string): Promise<void>;
  watch<T = unknown>(pattern: string, handler: (e: KvWatchEvent<T>) => void | Promise<void>, opts?: KvWatchOptions): Promise<Unsubscribe>;
}

export interface SubscribeOptions {
  /**
   * Deliver the matching events already retained (JetStream: the MODELOPT_JOBS stream;
   * memory: the last 10,000 events) before live ones, in publish order, without gaps.
   */
  history?: boolean;
}

export interface EventBus {
  /** `memory` or `nats` */
  readonly kind: 'memory' | 'nats';
  publish(subject: string, event: JobEvent): Promise<void>;
  /** live events on subjects matching the pattern (NATS wildcards * and >) */
  subscribe(pattern: string, handler: EventHandler, opts?: SubscribeOptions): Promise<Unsubscribe>;
  /** put a message on `modelopt.work.<service>` */
  enqueue(service: string, message: unknown, opts?: EnqueueOptions): Promise<void>;
  /** share `modelopt.work.<service>` with every other consumer of the same service */
  consume<T = unknown>(service: string, handler: WorkHandler<T>, opts?: ConsumeOptions): Promise<WorkConsumer>;
  /** job state (JetStream KV bucket `modelopt-jobs`) */
  readonly kv: KeyValueStore;
  close(): Promise<void>;
}
