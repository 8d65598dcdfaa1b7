/**
 * The ONNX quantization flow as a job plan: stage names, artifact roles and per-stage configs
 * shared by the services' stage handlers (services/<service>/stages.ts) and the batch client.
 *
 *   prepare (graph-analyzer)  model                         → model (prepared)
 *   analyze (graph-analyzer)  model                         → analysis (JSON)
 *   calibrate (calibrator)    model, analysis, calib. data  → calibration_table (JSON) | activations (bundle)
 *   quantize (quantizer)      model, analysis, table|acts   → quantized_model (ONNX)
 *   export (exporter)         quantized_model               → output_model (ONNX, checked)
 *   compare (exporter)        original model, output_model, eval data → comparison (JSON)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InvalidArgument } from '../errors.js';
import type { ArtifactRef, ArtifactStore } from '../artifacts/types.js';
import {
  CALIBRATION_METHODS,
  DEFAULT_QUANTIZE_OPTIONS,
  QUANTIZE_MODES,
  type CalibrationMethod,
  type QuantizeMode,
  type QuantizeOptions,
} from '../quant-types.js';
import { createPlan, type JobPlan, type JsonObject, type PlanStageInput } from './plan.js';

/** Artifact roles: plan inputs and stage outputs. */
export const ROLES = {
  model: 'model',
  calibrationData: 'calibration_data',
  evalData: 'eval_data',
  analysis: 'analysis',
  calibrationTable: 'calibration_table',
  activations: 'activations',
  quantizedModel: 'quantized_model',
  outputModel: 'output_model',
  outputModelData: 'output_model_data',
  comparison: 'comparison',
} as const;

export const JSON_MEDIA_TYPE = 'application/json';
export const TENSOR_BUNDLE_MEDIA_TYPE = 'application/x-modelopt-tensor-bundle';

export const isInt4Mode = (mode: string): boolean => mode.startsWith('int4');
export const isAwqMode = (mode: string): boolean => mode.startsWith('int4_awq');

/** Config of the analyze stage (also read by quantize). */
export interface SelectionConfig {
  quantizeMode: QuantizeMode;
  opTypesToQuantize: string[];
  opTypesToExclude: string[];
  nodesToQuantize: string[];
  nodesToExclude: string[];
}

/** Options a batch job may set; anything else in QuantizeOptions is per-run (paths, verbosity). */
export type JobQuantizeOptions = Pick<QuantizeOptions, keyof SelectionConfig | 'calibrationMethod' | 'useExternalDataFormat'>;

function stringList(v: unknown, what: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new InvalidArgument(`${what} must be a list of strings`);
  return [...(v as string[])];
}

/**
 * Validates user options (QuantizeOptions field names, partial) and fills defaults.
 * Unknown keys are an error, so a typo does not silently produce a default job.
 */
export function normalizeJobOptions(raw: unknown, what = 'options'): JobQuantizeOptions {
  if (raw === undefined || raw === null) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new InvalidArgument(`${what} must be an object of QuantizeOptions fields`);
  const o = raw as Record<string, unknown>;
  const known = new Set([
    'quantizeMode',
    'calibrationMethod',
    'opTypesToQuantize',
    'opTypesToExclude',
    'nodesToQuantize',
    'nodesToExclude',
    'useExternalDataFormat',
    'keepIntermediateFiles',
    'verbose',
    'outputPath',
  ]);
  const unknown = Object.keys(o).filter((k) => !known.has(k));
  if (unknown.length) throw new InvalidArgument(`${what}: unknown option(s) ${unknown.join(', ')} (QuantizeOptions field names, e.g. quantizeMode, calibrationMethod)`);
  const mode = (o['quantizeMode'] ?? DEFAULT_QUANTIZE_OPTIONS.quantizeMode) as QuantizeMode;
  if (!QUANTIZE_MODES.includes(mode)) throw new InvalidArgument(`${what}: quantizeMode "${String(mode)}" is not one of ${QUANTIZE_MODES.join(', ')}`);
  const method = (o['calibrationMethod'] ?? DEFAULT_QUANTIZE_OPTIONS.calibrationMethod) as CalibrationMethod;
  if (!CALIBRATION_METHODS.includes(method)) throw new InvalidArgument(`${what}: calibrationMethod "${String(method)}" is not one of ${CALIBRATION_METHODS.join(', ')}`);
  const ext = o['useExternalDataFormat'] ?? false;
  if (typeof ext !== 'boolean') throw new InvalidArgument(`${what}: useExternalDataFormat must be a boolean`);
  return {
    quantizeMode: mode,
    // FP8 always calibrates with the distribution method (reference behaviour)
    calibrationMethod: mode === 'fp8' ? 'distribution' : method,
    opTypesToQuantize: stringList(o['opTypesToQuantize'], `${what}.opTypesToQuantize`),
    opTypesToExclude: stringList(o['opTypesToExclude'], `${what}.opTypesToExclude`),
    nodesToQuantize: stringList(o['nodesToQuantize'], `${what}.nodesToQuantize`),
    nodesToExclude: stringList(o['nodesToExclude'], `${what}.nodesToExclude`),
    useExternalDataFormat: ext,
  };
}

export interface QuantizeJobInputs {
  model: ArtifactRef;
  calibrationData?: ArtifactRef;
  evalData?: ArtifactRef;
}

/**
 * The plan of one quantization job. Stages are chosen by mode: INT4 RTN needs no calibration;
 * AWQ captures activations in the calibrate stage; compare runs when eval (or calibration) data
 * is there. The job id defaults to `<label>-<first 16 hex of the job key>`, so resubmitting the
 * same content gives the same id.
 */
export function createQuantizePlan(inputs: QuantizeJobInputs, options: JobQuantizeOptions, opts: { label?: string; jobId?: string; compare?: boolean } = {}): JobPlan {
  const o = normalizeJobOptions(options);
  const refs: Record<string, ArtifactRef> = { [ROLES.model]: inputs.model };
  if (inputs.calibrationData) refs[ROLES.calibrationData] = inputs.calibrationData;
  const evalData = inputs.evalData ?? inputs.calibrationData;
  const compare = (opts.compare ?? true) && evalData !== undefined;
  if (compare) refs[ROLES.evalData] = evalData;
  const selection: JsonObject = {
    quantizeMode: o.quantizeMode,
    opTypesToQuantize: o.opTypesToQuantize,
    opTypesToExclude: o.opTypesToExclude,
    nodesToQuantize: o.nodesToQuantize,
    nodesToExclude: o.nodesToExclude,
  };
  const stages: PlanStageInput[] = [
    { name: 'prepare', config: {} },
    { name: 'analyze', config: selection },
  ];
  if (!isInt4Mode(o.quantizeMode)) stages.push({ name: 'calibrate', config: { quantizeMode: o.quantizeMode, calibrationMethod: o.calibrationMethod } });
  else if (isAwqMode(o.quantizeMode)) stages.push({ name: 'calibrate', config: { quantizeMode: o.quantizeMode, captureActivations: true, maxTokens: 64 } });
  stages.push({ name: 'quantize', config: selection });
  stages.push({ name: 'export', config: { useExternalDataFormat: o.useExternalDataFormat } });
  if (compare) stages.push({ name: 'compare', service: 'exporter', config: { maxBatches: 16 } });
  const plan = createPlan({ inputs: refs, stages });
  if (opts.jobId) return createPlan({ inputs: refs, stages, jobId: opts.jobId });
  const label = (opts.label ?? '').replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 80);
  return label ? createPlan({ inputs: refs, stages, jobId: `${label}-${plan.jobKey.slice(0, 16)}` }) : plan;
}

// ---- JSON artifacts (non-finite numbers survive the round trip) ----

const NON_FINITE = '__nonFinite';

export async function putJson(store: ArtifactStore, value: unknown): Promise<ArtifactRef> {
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? { [NON_FINITE]: String(v) } : v));
  return store.put(Buffer.from(text, 'utf8'), { mediaType: JSON_MEDIA_TYPE });
}

export async function getJson<T>(store: ArtifactStore, ref: ArtifactRef | undefined, what: string): Promise<T> {
  if (!ref) throw new InvalidArgument(`${what}: no artifact given`);
  const bytes = await store.get(ref);
  try {
    return JSON.parse(bytes.toString('utf8'), (_k, v: unknown) => {
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        const o = v as Record<string, unknown>;
        const keys = Object.keys(o);
        if (keys.length === 1 && keys[0] === NON_FINITE) return Number(o[NON_FINITE]);
      }
      return v;
    }) as T;
  } catch (err) {
    throw new InvalidArgument(`${what} (${ref.uri}) is not JSON: ${(err as Error).message}`);
  }
}

/** A required input artifact of a stage, with a clear error when the plan lacks it. */
export function requireInput(inputs: Record<string, ArtifactRef>, role: string, stage: string): ArtifactRef {
  const ref = inputs[role];
  if (!ref) throw new InvalidArgument(`stage ${stage} needs the "${role}" artifact, which the job does not have`);
  return ref;
}

/**
 * Runs `fn` with the artifact's bytes in a temporary file named `name` (domain readers such as
 * the .npz opener take paths); the file is removed afterwards.
 */
export async function withArtifactFile<T>(store: ArtifactStore, ref: ArtifactRef, name: string, fn: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), 'modelopt-stage-'));
  try {
    const file = path.join(dir, path.basename(name));
    await writeFile(file, await store.get(ref));
    return await fn(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** File name for a data artifact, from its media type (.npz unless it is a .npy). */
export function dataFileName(ref: ArtifactRef, base: string): string {
  return `${base}${ref.mediaType === 'application/x-npy' ? '.npy' : '.npz'}`;
}
