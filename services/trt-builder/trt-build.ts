/** Runtime TRT: the engine built by the native addon through TensorRT's C++ API. */
import { FailedPrecondition, Internal, InvalidArgument, type DomainError } from '../core/errors.js';
import { decodeModel } from '../core/onnx/model.js';
import { addEngineHeader } from './engine-header.js';
import type { Deployment } from './deployment.js';
import { shapeProfiles, type DynamicShapes } from './shapes.js';
import { loadTensorRt, type NativeTrtLogRecord } from './tensorrt-native.js';

/** SPEC §5 constants. */
export const TRT_DEFAULTS = {
  workspaceMiB: 256,
  workspaceMiBRange: [16, 1024] as const,
  avgTiming: 1,
  avgTimingRange: [1, 4] as const,
  tacticSources: '',
};

export interface TrtBuildOptions {
  dynamicShapes?: DynamicShapes;
  timingCache?: Uint8Array;
  workspaceMiB?: number;
  avgTiming?: number;
  tacticSources?: string;
  verbose?: boolean;
}

export interface TrtEngine {
  engine: Uint8Array;
  sha256: string;
  timingCache: Uint8Array;
  layerInfoJson: string;
  log: NativeTrtLogRecord[];
  stronglyTyped: boolean;
}

const QDQ_OPS = new Set(['QuantizeLinear', 'DequantizeLinear', 'TRT_FP8QuantizeLinear', 'TRT_FP8DequantizeLinear']);

/** True when the graph carries explicit quantization (Q/DQ), which TensorRT builds strongly typed. */
export function hasQdq(onnx: Uint8Array): boolean {
  const model = decodeModel(onnx, 'onnx');
  return (model.graph?.node ?? []).some((n) => QDQ_OPS.has(n.opType ?? ''));
}

const TACTIC_RE = /^([+-](cublasLt|cublas|cudnn|edgeMaskConvolutions|jitConvolutions))(,[+-](cublasLt|cublas|cudnn|edgeMaskConvolutions|jitConvolutions))*$/;

export async function buildTrtEngine(onnx: Uint8Array, deployment: Deployment, opts: TrtBuildOptions = {}): Promise<TrtEngine> {
  const workspaceMiB = opts.workspaceMiB ?? TRT_DEFAULTS.workspaceMiB;
  const avgTiming = opts.avgTiming ?? TRT_DEFAULTS.avgTiming;
  const tacticSources = opts.tacticSources ?? TRT_DEFAULTS.tacticSources;
  if (!Number.isInteger(workspaceMiB) || workspaceMiB <= 0) throw new InvalidArgument(`workspace: ${workspaceMiB} MiB is not a positive integer`);
  if (!Number.isInteger(avgTiming) || avgTiming < 1) throw new InvalidArgument(`avg_timing: ${avgTiming} is not an integer ≥ 1`);
  if (tacticSources !== '' && !TACTIC_RE.test(tacticSources)) {
    throw new InvalidArgument(`tactic_sources: "${tacticSources}" is not a comma list of ±cublasLt, ±cublas, ±cudnn`);
  }
  const profiles = opts.dynamicShapes ? shapeProfiles(opts.dynamicShapes) : [];
  const stronglyTyped = hasQdq(onnx);

  if (!stronglyTyped && deployment.precision !== 'fp32' && deployment.precision !== 'fp16') {
    throw new InvalidArgument(
      `precision ${deployment.precision} needs an explicitly quantized model (QuantizeLinear/DequantizeLinear nodes); quantize it first`,
    );
  }
  const trt = await loadTensorRt();
  if (!trt.present) {
    throw new FailedPrecondition(`runtime TRT: TensorRT is not available on this host: ${trt.reason}; use runtime ORT`);
  }
  const built = await trt.api.build({
    onnx,
    precision: deployment.precision,
    stronglyTyped,
    workspaceBytes: workspaceMiB * 2 ** 20,
    avgTimingIterations: avgTiming,
    tacticSources,
    ...(opts.timingCache ? { timingCache: opts.timingCache } : {}),
    profiles,
    logSeverity: opts.verbose ? 4 : 2,
  }).catch((err: unknown) => {
    throw nativeError(err);
  });
  const engine = addEngineHeader(built.engine);
  return {
    engine,
    sha256: Buffer.from(engine.subarray(0, 32)).toString('hex'),
    timingCache: built.timingCache,
    layerInfoJson: built.layerInfoJson,
    log: built.log,
    stronglyTyped,
  };
}

/** A rejected native build → the DomainError its `code` names, with the TensorRT log tail. */
function nativeError(err: unknown): DomainError {
  const e = err as { message?: unknown; code?: unknown; log?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(err);
  const log = Array.isArray(e.log)
    ? (e.log as Array<{ severity?: unknown; message?: unknown }>)
        .filter((r) => r.severity === 'error' || r.severity === 'internal_error')
        .slice(-5)
        .map((r) => String(r.message))
    : [];
  const text = `TensorRT build: ${message}${log.length ? `\n${log.join('\n')}` : ''}`;
  if (e.code === 'INVALID_ARGUMENT') return new InvalidArgument(text);
  if (e.code === 'FAILED_PRECONDITION') return new FailedPrecondition(text);
  return new Internal(text);
}
