import { InvalidSubjectError } from './errors.js';
import type { JobEventKind } from './types.js';

export const JOBS_PREFIX = 'modelopt.jobs';
export const WORK_PREFIX = 'modelopt.work';

const TOKEN_RE = /^[A-Za-z0-9_-]+$/;

/** A single subject token: letters, digits, `_` and `-` (no dots, wildcards or spaces). */
export function assertToken(what: string, token: string): void {
  if (!TOKEN_RE.test(token)) {
    throw new InvalidSubjectError(`${what} ${JSON.stringify(token)} is not a valid subject token (use [A-Za-z0-9_-])`);
  }
}

/** `modelopt.jobs.<jobId>.<stage>.<kind>` */
export function jobSubject(jobId: string, stage: string, kind: JobEventKind): string {
  assertToken('job id', jobId);
  assertToken('stage', stage);
  return `${JOBS_PREFIX}.${jobId}.${stage}.${kind}`;
}

/** Pattern for every event of one job: `modelopt.jobs.<jobId>.>` */
export function jobEventsPattern(jobId: string): string {
  assertToken('job id', jobId);
  return `${JOBS_PREFIX}.${jobId}.>`;
}

/** `modelopt.work.<service>` */
export function workSubject(service: string): string {
  assertToken('service', service);
  return `${WORK_PREFIX}.${service}`;
}

/** Parse a job event subject; null if it is not one. */
export function parseJobSubject(subject: string): { jobId: string; stage: string; kind: JobEventKind } | null {
  const t = subject.split('.');
  if (t.length !== 5 || `${t[0]}.${t[1]}` !== JOBS_PREFIX) return null;
  const kind = t[4] as JobEventKind;
  if (!['started', 'progress', 'completed', 'failed'].includes(kind)) return null;
  return { jobId: t[2]!, stage: t[3]!, kind };
}

/** Validate a subject to publish on (no wildcards, no empty tokens). */
export function assertSubject(subject: string): void {
  const tokens = subject.split('.');
  for (const t of tokens) {
    if (t === '' || t === '*' || t === '>' || /\s/.test(t)) {
      throw new InvalidSubjectError(`invalid subject ${JSON.stringify(subject)}`);
    }
  }
}

/** Validate a subscription pattern: `*` anywhere as a whole token, `>` only last. */
export function assertPattern(pattern: string): void {
  const tokens = pattern.split('.');
  tokens.forEach((t, i) => {
    if (t === '' || /\s/.test(t) || (t.includes('*') && t !== '*') || (t.includes('>') && t !== '>') || (t === '>' && i !== tokens.length - 1)) {
      throw new InvalidSubjectError(`invalid subject pattern ${JSON.stringify(pattern)}`);
    }
  });
}

/** NATS subject matching: `*` matches one token, a trailing `>` one or more. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const pt = p[i]!;
    if (pt === '>') return s.length > i;
    if (i >= s.length) return false;
    if (pt !== '*' && pt !== s[i]) return false;
  }
  return p.length === s.length;
}

const PROTO_KIND: Record<JobEventKind, string> = {
  started: 'JOB_EVENT_KIND_STARTED',
  progress: 'JOB_EVENT_KIND_PROGRESS',
  completed: 'JOB_EVENT_KIND_COMPLETED',
  failed: 'JOB_EVENT_KIND_FAILED',
};
/** `started` → `JOB_EVENT_KIND_STARTED` (modelopt.v1.JobEventKind) */
export function kindToProto(kind: JobEventKind): string {
  return PROTO_KIND[kind];
}
export function kindFromProto(name: string): JobEventKind {
  const found = (Object.keys(PROTO_KIND) as JobEventKind[]).find((k) => PROTO_KIND[k] === name);
  if (!found) throw new InvalidSubjectError(`unknown JobEventKind ${name}`);
  return found;
}
