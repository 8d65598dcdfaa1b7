import type { ArtifactRef } from '../artifacts/types.js';
import { KvConflictError } from '../events/errors.js';
import type { ErrorInfo, KeyValueStore } from '../events/types.js';
import type { JobPlan, JsonValue } from './plan.js';

export type StageStatus = 'pending' | 'running' | 'completed' | 'failed';
export type JobStatus = 'queued' | 'running' | 'completed' | 'failed';

/** What a stage handler returns. */
export interface StageResult {
  /** artifacts by role; they replace inputs of the same role for the following stages */
  outputs: Record<string, ArtifactRef>;
  /** small JSON summary (statistics, report fields) */
  summary?: JsonValue;
}

/** KV `stage.<stageKey>`: a finished stage, shared by every job with the same inputs and stage prefix. */
export interface StageRecord {
  stageKey: string;
  stage: string;
  service: string;
  result: StageResult;
  /** job that computed it */
  jobId: string;
  completedAtMs: number;
  durationMs: number;
}

export interface StageState {
  status: StageStatus;
  stageKey: string;
  attempts: number;
  /** result came from the stage cache */
  cached?: boolean;
  outputs?: Record<string, ArtifactRef>;
  summary?: JsonValue;
  error?: ErrorInfo;
  startedAtMs?: number;
  finishedAtMs?: number;
}

/** KV `job.<jobId>` */
export interface JobState {
  jobId: string;
  jobKey: string;
  runId: string;
  plan: JobPlan;
  status: JobStatus;
  stages: Record<string, StageState>;
  /** inputs merged with every stage's outputs (set when completed) */
  outputs?: Record<string, ArtifactRef>;
  error?: ErrorInfo & { stage: string };
  submittedAtMs: number;
  updatedAtMs: number;
}

export const jobKvKey = (jobId: string): string => `job.${jobId}`;
export const stageKvKey = (stageKey: string): string => `stage.${stageKey}`;

/**
 * Read-modify-write of a job state with optimistic concurrency (retries on revision
 * conflicts). `mutate` returns the new state, or null to leave it unchanged.
 */
export async function updateJobState(kv: KeyValueStore, jobId: string, mutate: (cur: JobState | null) => JobState | null): Promise<JobState | null> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const cur = await kv.get<JobState>(jobKvKey(jobId));
    const next = mutate(cur ? cur.value : null);
    if (next === null) return cur ? cur.value : null;
    next.updatedAtMs = Date.now();
    try {
      if (cur) await kv.update(jobKvKey(jobId), next, cur.revision);
      else await kv.create(jobKvKey(jobId), next);
      return next;
    } catch (err) {
      if (!(err instanceof KvConflictError)) throw err;
      await new Promise((r) => setTimeout(r, Math.min(50, 2 ** attempt)));
    }
  }
  throw new KvConflictError(jobKvKey(jobId), 'too many concurrent updates');
}

export async function getJobState(kv: KeyValueStore, jobId: string): Promise<JobState | null> {
  return (await kv.get<JobState>(jobKvKey(jobId)))?.value ?? null;
}
