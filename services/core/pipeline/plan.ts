import { createHash } from 'node:crypto';
import { InvalidArgument } from '../errors.js';
import type { ArtifactRef } from '../artifacts/types.js';
import { assertToken } from '../events/subjects.js';

/** JSON data; object members that are `undefined` are allowed and dropped when serialised. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue | undefined };
export type JsonObject = { [key: string]: JsonValue | undefined };

/** The ONNX flow's stages in order, and the service that runs each. */
export const STANDARD_STAGES = [
  { name: 'prepare', service: 'graph-analyzer' },
  { name: 'analyze', service: 'graph-analyzer' },
  { name: 'calibrate', service: 'calibrator' },
  { name: 'quantize', service: 'quantizer' },
  { name: 'export', service: 'exporter' },
] as const;
export type StandardStageName = (typeof STANDARD_STAGES)[number]['name'];

/** Stage token used for whole-job events: `modelopt.jobs.<jobId>.job.{started,completed,failed}`. */
export const JOB_STAGE = 'job';

export interface StageSpec {
  /** subject token, e.g. "calibrate" */
  name: string;
  /** service whose work queue runs it, e.g. "calibrator" */
  service: string;
  config: JsonObject;
}

export interface JobPlan {
  version: 1;
  jobId: string;
  /** sha256 of the inputs' sha256s and the canonical stage list (names, services, configs) */
  jobKey: string;
  /** input artifacts by role ("model", "calibration_data", ...) */
  inputs: Record<string, ArtifactRef>;
  stages: StageSpec[];
}

export interface PlanStageInput {
  name: string;
  /** defaults to the standard service for a standard stage name */
  service?: string;
  config?: JsonObject;
}

export interface CreatePlanOptions {
  inputs: Record<string, ArtifactRef>;
  stages: PlanStageInput[];
  /** defaults to the job key: the same inputs and config give the same job */
  jobId?: string;
}

/**
 * JSON with object keys sorted at every level and no insignificant whitespace.
 * Rejects values JSON cannot represent faithfully (NaN, Infinity, undefined, functions...).
 */
export function canonicalJson(value: unknown): string {
  return canon(value, '$');
}

function canon(v: unknown, path: string): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(v)) throw new InvalidArgument(`config value at ${path} is not a finite number: ${v}`);
      return JSON.stringify(v);
    case 'string':
      return JSON.stringify(v);
    case 'object': {
      if (Array.isArray(v)) return `[${v.map((x, i) => canon(x, `${path}[${i}]`)).join(',')}]`;
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        throw new InvalidArgument(`config value at ${path} is not a plain object`);
      }
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canon(obj[k], `${path}.${k}`)}`).join(',')}}`;
    }
    default:
      throw new InvalidArgument(`config value at ${path} has unsupported type ${typeof v}`);
  }
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

function inputDigest(inputs: Record<string, ArtifactRef>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [role, ref] of Object.entries(inputs)) {
    if (!ref || !/^[0-9a-f]{64}$/.test(ref.sha256)) {
      throw new InvalidArgument(`input ${role}: artifact ref needs a sha256 (got ${JSON.stringify(ref?.sha256)})`);
    }
    out[role] = ref.sha256;
  }
  return out;
}

/** Key of the whole job: sha256(input shas + canonical stage list). */
export function computeJobKey(inputs: Record<string, ArtifactRef>, stages: readonly StageSpec[]): string {
  return stageKeyFor(inputs, stages, stages.length - 1);
}

/**
 * Cache key of stage `index`: depends on the inputs and on every stage up to and including
 * it, so two jobs that share a prefix of stages share those stages' results.
 */
export function stageKeyFor(inputs: Record<string, ArtifactRef>, stages: readonly StageSpec[], index: number): string {
  const prefix = stages.slice(0, index + 1).map((s) => ({ name: s.name, service: s.service, config: s.config }));
  return sha256(canonicalJson({ inputs: inputDigest(inputs), stages: prefix }));
}

export function defaultServiceFor(stage: string): string | undefined {
  return STANDARD_STAGES.find((s) => s.name === stage)?.service;
}

export function createPlan(opts: CreatePlanOptions): JobPlan {
  if (!opts.stages.length) throw new InvalidArgument('a job plan needs at least one stage');
  if (!opts.inputs || !Object.keys(opts.inputs).length) throw new InvalidArgument('a job plan needs at least one input artifact');
  const seen = new Set<string>();
  const stages: StageSpec[] = opts.stages.map((s, i) => {
    assertToken(`stage ${i} name`, s.name);
    if (s.name === JOB_STAGE) throw new InvalidArgument(`stage name "${JOB_STAGE}" is reserved for whole-job events`);
    if (seen.has(s.name)) throw new InvalidArgument(`stage ${s.name} appears twice in the plan`);
    seen.add(s.name);
    const service = s.service ?? defaultServiceFor(s.name);
    if (!service) throw new InvalidArgument(`stage ${s.name}: no service given and no standard service for it`);
    assertToken(`stage ${s.name} service`, service);
    const config = (s.config ?? {}) as JsonObject;
    canonicalJson(config); // validate early
    return { name: s.name, service, config };
  });
  for (const role of Object.keys(opts.inputs)) assertToken('input role', role);
  const jobKey = computeJobKey(opts.inputs, stages);
  const jobId = opts.jobId ?? jobKey;
  assertToken('job id', jobId);
  return { version: 1, jobId, jobKey, inputs: { ...opts.inputs }, stages };
}

/** Standard plan over a subset of the standard stages, in standard order. */
export function createStandardPlan(
  inputs: Record<string, ArtifactRef>,
  config: Partial<Record<StandardStageName, JsonObject>>,
  opts: { stages?: StandardStageName[]; jobId?: string } = {},
): JobPlan {
  const wanted = new Set(opts.stages ?? STANDARD_STAGES.map((s) => s.name));
  return createPlan({
    inputs,
    jobId: opts.jobId,
    stages: STANDARD_STAGES.filter((s) => wanted.has(s.name)).map((s) => ({ name: s.name, service: s.service, config: config[s.name] ?? {} })),
  });
}

/** Structural check of a plan received from the wire. */
export function validatePlan(plan: unknown): JobPlan {
  const p = plan as Partial<JobPlan> | null;
  if (!p || p.version !== 1 || typeof p.jobId !== 'string' || typeof p.jobKey !== 'string' || !Array.isArray(p.stages) || typeof p.inputs !== 'object' || p.inputs === null) {
    throw new InvalidArgument('malformed job plan');
  }
  const rebuilt = createPlan({ inputs: p.inputs, stages: p.stages, jobId: p.jobId });
  if (rebuilt.jobKey !== p.jobKey) throw new InvalidArgument(`job plan ${p.jobId}: job key does not match its content`);
  return rebuilt;
}
