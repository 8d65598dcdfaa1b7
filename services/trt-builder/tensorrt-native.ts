/**
 * The TensorRT part of the native addon, as this service sees it.
 *
 * native/tensorrt/ (compiled only where TensorRT headers and libnvinfer are found) registers on
 * the addon's exports an object `tensorrt` with:
 *   version(): string                               e.g. "10.16.0"
 *   build(args: NativeTrtBuildArgs): Promise<NativeTrtBuildResult>   (AsyncWorker, off the JS thread)
 * Where the addon was built without TensorRT, or cannot be loaded at all, `loadTensorRt()` returns
 * `{ present: false, reason }` and callers answer FailedPrecondition. A failed native build rejects
 * with an Error whose `code` is INVALID_ARGUMENT, FAILED_PRECONDITION or INTERNAL and whose `log`
 * holds the TensorRT log records.
 */

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

export interface NativeTrtProfile {
  name: string;
  min: number[];
  opt: number[];
  max: number[];
}

export interface NativeTrtBuildArgs {
  onnx: Uint8Array;
  /** fp32 | fp16 | fp8 | int8 | int4 (builder flags; Q/DQ models use a strongly typed network). */
  precision: string;
  stronglyTyped: boolean;
  workspaceBytes: number;
  /** 1–4 in the reference's suggested range. */
  avgTimingIterations: number;
  /** '' = all tactic sources, else trtexec-style "+cublasLt,-cudnn". */
  tacticSources: string;
  timingCache?: Uint8Array;
  profiles: NativeTrtProfile[];
  /** ILogger threshold: 0 internal error … 4 verbose. */
  logSeverity: number;
}

export interface NativeTrtLogRecord {
  severity: string;
  message: string;
}

export interface NativeTrtBuildResult {
  /** Serialized engine, without header. */
  engine: Uint8Array;
  /** The timing cache after the build (pass back in for reuse). */
  timingCache: Uint8Array;
  /** IEngineInspector::getEngineInformation(kJSON). */
  layerInfoJson: string;
  log: NativeTrtLogRecord[];
}

export interface NativeTensorRt {
  version(): string;
  build(args: NativeTrtBuildArgs): Promise<NativeTrtBuildResult>;
}

export type TensorRtAvailability =
  | { present: true; version: string; api: NativeTensorRt }
  | { present: false; reason: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function asNativeTensorRt(v: unknown): NativeTensorRt | undefined {
  if (isRecord(v) && typeof v['version'] === 'function' && typeof v['build'] === 'function') {
    return v as unknown as NativeTensorRt;
  }
  return undefined;
}

let cached: Promise<TensorRtAvailability> | undefined;

/**
 * Looks (once per process) for `tensorrt` on the compiled addon that native/index.ts loads
 * (same file, so the same module instance through require's cache).
 */
export function loadTensorRt(): Promise<TensorRtAvailability> {
  cached ??= (async (): Promise<TensorRtAvailability> => {
    let paths: readonly string[];
    try {
      const native = await import('../../native/index.js');
      paths = native.ADDON_PATHS;
    } catch (err) {
      return { present: false, reason: `native addon loader unavailable (${(err as Error).message.split('\n')[0]})` };
    }
    const file = paths.find((p) => existsSync(p));
    if (!file) return { present: false, reason: 'the native addon is not built (npm run build:native), so TensorRT cannot be used' };
    let addon: unknown;
    try {
      addon = createRequire(import.meta.url)(file);
    } catch (err) {
      return { present: false, reason: `the native addon failed to load (${(err as Error).message.split('\n')[0]})` };
    }
    const api = isRecord(addon) ? asNativeTensorRt(addon['tensorrt']) : undefined;
    if (!api) {
      return {
        present: false,
        reason: 'the native addon was built without TensorRT (no NvInfer.h / libnvinfer found at build time)',
      };
    }
    try {
      return { present: true, version: api.version(), api };
    } catch (err) {
      return { present: false, reason: `TensorRT library not usable: ${(err as Error).message}` };
    }
  })();
  return cached;
}
