import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ArtifactRef, ArtifactStore } from '../artifacts/types.js';
import { DomainError } from '../errors.js';
import { ProgressReporter } from '../events/progress.js';
import { jobEventsPattern, jobSubject } from '../events/subjects.js';
import type { ConsumeOptions, ErrorInfo, EventBus, JobEvent, JobEventKind, SubscribeOptions, WorkConsumer, WorkMessage } from '../events/types.js';
import { DEFAULT_MAX_DELIVER } from '../events/memory-bus.js';
import { JOB_STAGE, stageKeyFor, validatePlan, type JobPlan, type StageSpec } from './plan.js';
import { getJobState, jobKvKey, stageKvKey, updateJobState, type JobState, type StageRecord, type StageResult } from './state.js';

/** Message on `modelopt.work.<service>`: the plan travels with the job. */
export interface StageWorkMessage {
  plan: JobPlan;
  stageIndex: number;
  runId: string;
}

export interface StageContext {
  plan: JobPlan;
  stage: StageSpec;
  stageIndex: number;
  /** plan inputs overlaid with the outputs of every earlier stage, by role */
  inputs: Record<string, ArtifactRef>;
  /** results of the earlier stages, by stage name */
  previous: Record<string, StageResult>;
  store: ArtifactStore;
  progress: ProgressReporter;
  /** delivery attempt, 1 on first try */
  attempt: number;
}

/** What a handler returns; roles whose ref is `undefined` are left out of the recorded result. */
export interface StageHandlerResult {
  outputs: { [role: string]: ArtifactRef | undefined };
  summary?: StageResult['summary'];
}

export type StageHandler = (ctx: StageContext) => Promise<StageHandlerResult>;

function isArtifactRef(v: unknown): v is ArtifactRef {
  const r = v as ArtifactRef | null;
  return !!r && typeof r.uri === 'string' && r.uri.length > 0 && typeof r.sha256 === 'string' && typeof r.sizeBytes === 'number' && typeof r.mediaType === 'string';
}

/** Drop undefined roles; null when the result is not usable. */
function normalizeResult(raw: StageHandlerResult | undefined): { result: StageResult } | { problem: string } {
  if (!raw || typeof raw.outputs !== 'object' || raw.outputs === null) return { problem: 'returned no outputs' };
  const outputs: Record<string, ArtifactRef> = {};
  for (const [role, ref] of Object.entries(raw.outputs)) {
    if (ref === undefined) continue;
    if (!isArtifactRef(ref)) return { problem: `output ${role} is not an artifact ref` };
    outputs[role] = { uri: ref.uri, sha256: ref.sha256, sizeBytes: ref.sizeBytes, mediaType: ref.mediaType };
  }
  const result: StageResult = { outputs };
  if (raw.summary !== undefined) result.summary = JSON.parse(JSON.stringify(raw.summary)) as StageResult['summary'];
  return { result };
}

export interface StageWorkerOptions {
  bus: EventBus;
  /** work queue to consume: `modelopt.work.<service>` */
  service: string;
  /** handlers by stage name (a service may run several stages, e.g. prepare and analyze) */
  handlers: Record<string, StageHandler>;
  /** where handlers read and write artifacts; also used to check cached outputs still exist */
  store: ArtifactStore;
  /** instance name in events (default <hostname>/<pid>/<random>) */
  source?: string;
  consume?: ConsumeOptions;
  /** progress throttle (default 250 ms) */
  progressIntervalMs?: number;
  /**
   * Whether an error is worth a retry (redelivery). Default: DomainErrors with codes
   * INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, UNIMPLEMENTED, DATA_LOSS are final.
   */
  isRetryable?: (err: unknown) => boolean;
  /** how long to wait before a retry (default 200 ms × attempt) */
  retryDelayMs?: (attempt: number) => number;
  log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

/** Prefix of the progress message on `completed` events of stages served from the cache. */
export const CACHED_MESSAGE = 'reused cached result';

const FINAL_CODES = new Set(['INVALID_ARGUMENT', 'NOT_FOUND', 'FAILED_PRECONDITION', 'UNIMPLEMENTED', 'DATA_LOSS']);

export function defaultIsRetryable(err: unknown): boolean {
  return !(err instanceof DomainError && FINAL_CODES.has(err.code));
}

export function toErrorInfo(err: unknown): ErrorInfo {
  if (err instanceof DomainError) return { code: err.code, reason: err.name, message: err.message };
  if (err instanceof Error) return { code: 'INTERNAL', reason: err.name, message: err.message };
  return { code: 'INTERNAL', message: String(err) };
}

/** Inputs seen by stage `index`: plan inputs overlaid with earlier outputs. */
function stageInputs(plan: JobPlan, previous: Record<string, StageResult>, index: number): Record<string, ArtifactRef> {
  const inputs = { ...plan.inputs };
  for (const s of plan.stages.slice(0, index)) Object.assign(inputs, previous[s.name]?.outputs ?? {});
  return inputs;
}

/**
 * Runs the stages of one service: consumes `modelopt.work.<service>`, runs the handler (or
 * reuses the cached result of an identical stage), records the result in KV, publishes
 * `completed` and enqueues the next stage. Replicas share the queue; failures are retried
 * through redelivery; a stage that is already finished is never recomputed.
 */
export class StageWorker {
  private consumer: WorkConsumer | undefined;
  readonly source: string;
  private readonly maxDeliver: number;

  constructor(private readonly opts: StageWorkerOptions) {
    this.source = opts.source ?? `${opts.service}@${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;
    this.maxDeliver = opts.consume?.maxDeliver ?? DEFAULT_MAX_DELIVER;
  }

  async start(): Promise<void> {
    if (this.consumer) return;
    this.consumer = await this.opts.bus.consume<StageWorkMessage>(this.opts.service, (m) => this.handle(m), {
      ...this.opts.consume,
      onError: (err) => this.log('warn', 'stage attempt failed; will be redelivered', { error: toErrorInfo(err) }),
    });
  }

  async stop(): Promise<void> {
    const c = this.consumer;
    this.consumer = undefined;
    await c?.stop();
  }

  private log(level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void {
    this.opts.log?.(level, msg, { service: this.opts.service, source: this.source, ...fields });
  }

  private async emit(jobId: string, stage: string, kind: JobEventKind, extra: Partial<JobEvent> = {}): Promise<void> {
    await this.opts.bus.publish(jobSubject(jobId, stage, kind), {
      jobId,
      stage,
      kind,
      timestampMs: Date.now(),
      source: this.source,
      ...extra,
    });
  }

  private async handle(msg: WorkMessage<StageWorkMessage>): Promise<void> {
    const { bus, store } = this.opts;
    let plan: JobPlan;
    try {
      plan = validatePlan(msg.data?.plan);
    } catch (err) {
      this.log('error', 'dropping malformed work message', { error: toErrorInfo(err) });
      await msg.term('malformed work message');
      return;
    }
    const { stageIndex, runId } = msg.data;
    const stage = plan.stages[stageIndex];
    if (!Number.isInteger(stageIndex) || !stage || typeof runId !== 'string') {
      await msg.term('bad stage index');
      return;
    }
    const jobId = plan.jobId;
    if (stage.service !== this.opts.service) {
      await this.failJob(plan, runId, stage.name, { code: 'INVALID_ARGUMENT', message: `stage ${stage.name} belongs to ${stage.service}, delivered to ${this.opts.service}` }, msg);
      return;
    }
    const handler = this.opts.handlers[stage.name];
    if (!handler) {
      await this.failJob(plan, runId, stage.name, { code: 'UNIMPLEMENTED', message: `service ${this.opts.service} has no handler for stage ${stage.name}` }, msg);
      return;
    }
    const state = await getJobState(bus.kv, jobId);
    if (state && state.runId === runId && (state.status === 'failed' || state.stages[stage.name]?.status === 'completed')) {
      // a duplicate delivery of work that is already settled for this run
      if (state.status !== 'failed' && state.stages[stage.name]?.status === 'completed') await this.advance(plan, runId, stageIndex, msg.deliveryCount);
      return;
    }
    if (state && state.runId !== runId) {
      // superseded by a newer submission of the same job id
      this.log('info', 'dropping work of a superseded run', { jobId, runId, current: state.runId });
      return;
    }

    const stageKey = stageKeyFor(plan.inputs, plan.stages, stageIndex);
    const previous: Record<string, StageResult> = {};
    for (const s of plan.stages.slice(0, stageIndex)) {
      const st = state?.stages[s.name];
      if (st?.status === 'completed') previous[s.name] = { outputs: st.outputs ?? {}, ...(st.summary !== undefined ? { summary: st.summary } : {}) };
      else {
        const rec = await bus.kv.get<StageRecord>(stageKvKey(stageKeyFor(plan.inputs, plan.stages, plan.stages.indexOf(s))));
        if (!rec) {
          await this.failJob(plan, runId, stage.name, { code: 'FAILED_PRECONDITION', message: `stage ${stage.name} started before ${s.name} finished` }, msg);
          return;
        }
        previous[s.name] = rec.value.result;
      }
    }

    const cached = await this.cachedResult(stageKey);
    let result: StageResult;
    const startedAtMs = Date.now();
    if (cached) {
      result = cached.result;
      await this.emit(jobId, stage.name, 'started', { attempt: msg.deliveryCount });
    } else {
      await updateJobState(bus.kv, jobId, (cur) => {
        if (!cur || cur.runId !== runId) return null;
        const prevStage = cur.stages[stage.name];
        cur.status = 'running';
        cur.stages[stage.name] = { ...prevStage, status: 'running', stageKey, attempts: msg.deliveryCount, startedAtMs };
        return cur;
      });
      await this.emit(jobId, stage.name, 'started', { attempt: msg.deliveryCount });
      const progress = new ProgressReporter(bus, jobId, stage.name, {
        minIntervalMs: this.opts.progressIntervalMs,
        source: this.source,
        attempt: msg.deliveryCount,
      });
      const keepAlive = setInterval(() => msg.working(), Math.max(1000, (this.opts.consume?.ackWaitMs ?? 30_000) / 3));
      let raw: StageHandlerResult;
      try {
        raw = await handler({
          plan,
          stage,
          stageIndex,
          inputs: stageInputs(plan, previous, stageIndex),
          previous,
          store,
          progress,
          attempt: msg.deliveryCount,
        });
        await progress.flush();
      } catch (err) {
        await progress.close();
        const retryable = (this.opts.isRetryable ?? defaultIsRetryable)(err);
        const lastAttempt = this.maxDeliver > 0 && msg.deliveryCount >= this.maxDeliver;
        if (retryable && !lastAttempt) {
          await msg.nak(this.opts.retryDelayMs ? this.opts.retryDelayMs(msg.deliveryCount) : 200 * msg.deliveryCount);
          throw err;
        }
        await this.failJob(plan, runId, stage.name, toErrorInfo(err), msg);
        return;
      } finally {
        clearInterval(keepAlive);
      }
      const normalized = normalizeResult(raw);
      if ('problem' in normalized) {
        await this.failJob(plan, runId, stage.name, { code: 'INTERNAL', message: `handler for ${stage.name} ${normalized.problem}` }, msg);
        return;
      }
      result = normalized.result;
      const record: StageRecord = {
        stageKey,
        stage: stage.name,
        service: stage.service,
        result,
        jobId,
        completedAtMs: Date.now(),
        durationMs: Date.now() - startedAtMs,
      };
      await bus.kv.put(stageKvKey(stageKey), record);
    }

    await updateJobState(bus.kv, jobId, (cur) => {
      if (!cur || cur.runId !== runId) return null;
      const prevStage = cur.stages[stage.name];
      cur.status = 'running';
      cur.stages[stage.name] = {
        ...prevStage,
        status: 'completed',
        stageKey,
        attempts: cached ? (prevStage?.attempts ?? 0) : msg.deliveryCount,
        cached: Boolean(cached),
        outputs: result.outputs,
        ...(result.summary !== undefined ? { summary: result.summary } : {}),
        startedAtMs: prevStage?.startedAtMs ?? startedAtMs,
        finishedAtMs: Date.now(),
      };
      delete cur.stages[stage.name]!.error;
      return cur;
    });
    await this.emit(jobId, stage.name, 'completed', {
      results: result.outputs,
      attempt: msg.deliveryCount,
      ...(cached ? { progress: { fraction: 1, message: `${CACHED_MESSAGE} (stage key ${stageKey.slice(0, 12)}, computed by job ${cached.jobId})` } } : {}),
    });
    await this.advance(plan, runId, stageIndex, msg.deliveryCount);
  }

  /** A cached stage result whose output artifacts still exist, or null. */
  private async cachedResult(stageKey: string): Promise<StageRecord | null> {
    const rec = await this.opts.bus.kv.get<StageRecord>(stageKvKey(stageKey));
    if (!rec) return null;
    for (const ref of Object.values(rec.value.result.outputs)) {
      let present = false;
      try {
        present = await this.opts.store.exists(ref);
      } catch {
        present = false;
      }
      if (!present) {
        this.log('warn', 'cached stage output is gone; recomputing', { stageKey, uri: ref.uri });
        return null;
      }
    }
    return rec.value;
  }

  /** Enqueue the next stage, or mark the job completed. */
  private async advance(plan: JobPlan, runId: string, stageIndex: number, attempt: number): Promise<void> {
    const next = plan.stages[stageIndex + 1];
    if (next) {
      const message: StageWorkMessage = { plan, stageIndex: stageIndex + 1, runId };
      await this.opts.bus.enqueue(next.service, message, { msgId: `${runId}.${stageIndex + 1}` });
      return;
    }
    let completedNow = false;
    const final = await updateJobState(this.opts.bus.kv, plan.jobId, (cur) => {
      if (!cur || cur.runId !== runId || cur.status === 'completed') return null;
      completedNow = true;
      cur.status = 'completed';
      const previous: Record<string, StageResult> = {};
      for (const s of plan.stages) previous[s.name] = { outputs: cur.stages[s.name]?.outputs ?? {} };
      cur.outputs = stageInputs(plan, previous, plan.stages.length);
      return cur;
    });
    if (completedNow && final) {
      await this.emit(plan.jobId, JOB_STAGE, 'completed', { results: final.outputs ?? {}, attempt });
    }
  }

  private async failJob(plan: JobPlan, runId: string, stageName: string, error: ErrorInfo, msg: WorkMessage): Promise<void> {
    await updateJobState(this.opts.bus.kv, plan.jobId, (cur) => {
      if (!cur || cur.runId !== runId) return null;
      cur.status = 'failed';
      const prevStage = cur.stages[stageName];
      cur.stages[stageName] = {
        ...prevStage,
        stageKey: prevStage?.stageKey ?? '',
        status: 'failed',
        attempts: msg.deliveryCount,
        error,
        finishedAtMs: Date.now(),
      };
      cur.error = { ...error, stage: stageName };
      return cur;
    });
    await this.emit(plan.jobId, stageName, 'failed', { error, attempt: msg.deliveryCount });
    await this.emit(plan.jobId, JOB_STAGE, 'failed', { error, attempt: msg.deliveryCount });
    await msg.term(`${error.code}: ${error.message}`);
  }
}

export interface SubmitOptions {
  /** run again even if the job already completed (finished stages still come from the cache) */
  force?: boolean;
}

export interface SubmitResult {
  jobId: string;
  runId: string;
  /** the job had already completed and nothing was enqueued */
  alreadyCompleted: boolean;
}

/**
 * Record the job in KV and enqueue its first stage. Submitting a job that already
 * completed is a no-op unless `force`; submitting one that is queued or running again
 * starts a new run that supersedes the old one (whose pending work is then dropped).
 */
export async function submitJob(bus: EventBus, plan: JobPlan, opts: SubmitOptions = {}): Promise<SubmitResult> {
  plan = validatePlan(plan);
  const runId = `${Date.now().toString(36)}${randomBytes(6).toString('hex')}`;
  let alreadyCompleted = false;
  let existingRun = '';
  const now = Date.now();
  await updateJobState(bus.kv, plan.jobId, (cur) => {
    if (cur && cur.status === 'completed' && !opts.force && cur.jobKey === plan.jobKey) {
      alreadyCompleted = true;
      existingRun = cur.runId;
      return null;
    }
    const stages: JobState['stages'] = {};
    plan.stages.forEach((s, i) => {
      stages[s.name] = { status: 'pending', stageKey: stageKeyFor(plan.inputs, plan.stages, i), attempts: 0 };
    });
    return { jobId: plan.jobId, jobKey: plan.jobKey, runId, plan, status: 'queued', stages, submittedAtMs: now, updatedAtMs: now };
  });
  if (alreadyCompleted) return { jobId: plan.jobId, runId: existingRun, alreadyCompleted: true };
  await bus.publish(jobSubject(plan.jobId, JOB_STAGE, 'started'), { jobId: plan.jobId, stage: JOB_STAGE, kind: 'started', timestampMs: now, source: 'submit' });
  const first: StageWorkMessage = { plan, stageIndex: 0, runId };
  await bus.enqueue(plan.stages[0]!.service, first, { msgId: `${runId}.0` });
  return { jobId: plan.jobId, runId, alreadyCompleted: false };
}

export class JobFailedError extends DomainError {
  readonly state: JobState;
  constructor(state: JobState) {
    const e = state.error;
    super('FAILED_PRECONDITION', `job ${state.jobId} failed${e ? ` at stage ${e.stage}: ${e.code}: ${e.message}` : ''}`);
    this.state = state;
  }
}

/** Resolve with the final state when the job completes; reject with JobFailedError if it fails. */
export async function waitForJob(bus: EventBus, jobId: string, opts: { timeoutMs?: number; runId?: string } = {}): Promise<JobState> {
  const timeoutMs = opts.timeoutMs ?? 10 * 60_000;
  let timer: NodeJS.Timeout | undefined;
  let watchP: Promise<() => Promise<void>> | undefined;
  try {
    return await new Promise<JobState>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for job ${jobId}`)), timeoutMs);
      watchP = bus.kv.watch<JobState>(jobKvKey(jobId), (e) => {
        const st = e.value;
        if (!st || (opts.runId && st.runId !== opts.runId)) return;
        if (st.status === 'completed') resolve(st);
        else if (st.status === 'failed') reject(new JobFailedError(st));
      });
      watchP.catch(reject);
    });
  } finally {
    if (timer) clearTimeout(timer);
    const stop = await watchP?.catch(() => undefined);
    await stop?.();
  }
}

/** Every event of one job: live, or (history: true) from the start of the retained history. */
export function watchJobEvents(
  bus: EventBus,
  jobId: string,
  handler: (e: JobEvent, subject: string) => void | Promise<void>,
  opts: SubscribeOptions = {},
): Promise<() => Promise<void>> {
  return bus.subscribe(jobEventsPattern(jobId), handler, opts);
}

/** Submit and wait. */
export async function runJob(bus: EventBus, plan: JobPlan, opts: SubmitOptions & { timeoutMs?: number } = {}): Promise<JobState> {
  const sub = await submitJob(bus, plan, opts);
  if (sub.alreadyCompleted) {
    const st = await getJobState(bus.kv, sub.jobId);
    if (st) return st;
  }
  return waitForJob(bus, sub.jobId, { timeoutMs: opts.timeoutMs, runId: sub.runId });
}

/** Start one worker per service (embedded mode starts all of them in one process). */
export async function startWorkers(
  base: Omit<StageWorkerOptions, 'service' | 'handlers'>,
  services: Record<string, Record<string, StageHandler>>,
): Promise<{ workers: StageWorker[]; stop(): Promise<void> }> {
  const workers = Object.entries(services).map(([service, handlers]) => new StageWorker({ ...base, service, handlers }));
  await Promise.all(workers.map((w) => w.start()));
  return { workers, stop: async () => void (await Promise.all(workers.map((w) => w.stop()))) };
}
