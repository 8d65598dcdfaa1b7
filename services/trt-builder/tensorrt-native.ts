/**
 * The TensorRT part of the native addon, as this service sees it.
 *
 * native/tensorrt/ (compiled only where TensorRT headers and libnvinfer are found) registers on
 * the addon's exports an object `tensorrt` with:
 *   version(): string                               e.g. "10.16.0"
 *   build(args: NativeTrtBuildArgs): Promise<NativeTrtBuildResult>   (AsyncWorker, off the JS thread)
 * Where the addon was built without TensorRT, or cannot be loaded at all, `loadTensorRt()` returns
 * `{ present: false, reason }` and callers answer FailedPrecondition.
 */

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

/** Looks for the addon's `tensorrt` object once per process. */
export function loadTensorRt(): Promise<TensorRtAvailability> {
  cached ??= (async (): Promise<TensorRtAvailability> => {
    let mod: unknown;
    try {
      const loaderPath = '../../native/index.js';
      mod = await import(loaderPath);
    } catch (err) {
      return { present: false, reason: `native addon not loadable (${(err as Error).message.split('\n')[0]})` };
    }
    const candidates: unknown[] = [];
    if (isRecord(mod)) {
      candidates.push(mod['tensorrt']);
      for (const key of ['native', 'addon', 'default']) {
        const inner = mod[key];
        if (isRecord(inner)) candidates.push(inner['tensorrt']);
      }
      const loadFn = mod['loadNative'] ?? mod['loadAddon'];
      if (typeof loadFn === 'function') {
        try {
          const loaded: unknown = await (loadFn as () => unknown)();
          if (isRecord(loaded)) candidates.push(loaded['tensorrt']);
        } catch {
          /* the addon is not built here: fall through */
        }
      }
    }
    for (const c of candidates) {
      const api = asNativeTensorRt(c);
      if (api) return { present: true, version: api.version(), api };
    }
    return {
      present: false,
      reason: 'the native addon was built without TensorRT (no NvInfer.h / libnvinfer found at build time)',
    };
  })();
  return cached;
}
