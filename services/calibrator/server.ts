/**
 * gRPC adapter of the calibrator: maps modelopt.v1.CalibratorService onto the domain modules of
 * this folder (calibrate.ts, merge.ts, capture-activations.ts). Thin on purpose: no statistics here.
 */
import {
  CalibratorServiceService,
  type CalibrateRequest,
  type CalibrateResponse,
  type CaptureActivationsRequest,
  type CaptureActivationsResponse,
  type MergeHistogramsResponse,
} from '../../gen/modelopt/v1/calibrator.js';
import { QuantizeMode as PbMode, type ArtifactRef } from '../../gen/modelopt/v1/common.js';
import { defineService, serverStream, unary, type ServiceRegistration } from '../core/grpc/handlers.js';
import { methodFromProto } from '../core/grpc/convert.js';
import type { ServiceDeps } from '../core/service-main.js';
import { readModel, readModelWithDigest } from '../core/runtime.js';
import { InvalidArgument } from '../core/errors.js';
import { encodeTensorBundle } from '../core/tensor-bundle.js';
import { TENSOR_BUNDLE_MEDIA_TYPE, withArtifactFile } from '../core/pipeline/quantize-flow.js';
import { collectStatistics, type CalibrationProgress } from './calibrate.js';
import { computeTable } from './methods.js';
import { mergeStatistics } from './merge.js';
import { captureActivations } from './capture-activations.js';
import { calibrationSessions } from './session-cache.js';
import { calibratorKernels } from './kernels.js';
import { globalRangesFromProto, histogramOptionsFromProto, histogramRangeFromProto, statisticsFromProto, statisticsToProto, tableToProto } from './wire.js';

export type CalibratorDeps = ServiceDeps;

/** Turns callback progress into a stream: `run` resolves with the result, `events` yields until then. */
async function* withProgress<P, R>(run: (push: (p: P) => void) => Promise<R>, onEvent: (p: P) => CalibrateResponse | CaptureActivationsResponse, onDone: (r: R) => AsyncIterable<CalibrateResponse | CaptureActivationsResponse>) {
  const queue: P[] = [];
  let wake: (() => void) | null = null;
  let done = false;
  let result: R | undefined;
  let error: unknown;
  const p = run((ev) => {
    queue.push(ev);
    wake?.();
  }).then(
    (r) => {
      result = r;
      done = true;
      wake?.();
    },
    (e) => {
      error = e;
      done = true;
      wake?.();
    },
  );
  while (true) {
    while (queue.length) yield onEvent(queue.shift()!);
    if (done) break;
    await new Promise<void>((r) => (wake = r));
    wake = null;
  }
  await p;
  if (error !== undefined) throw error;
  yield* onDone(result as R);
}

function dataFile(ref: ArtifactRef): string {
  return ref.mediaType === 'application/x-npy' || ref.uri.toLowerCase().endsWith('.npy') ? 'calibration.npy' : 'calibration.npz';
}

export function calibratorService(deps: CalibratorDeps): ServiceRegistration<typeof CalibratorServiceService> {
  const store = deps.runtime.artifacts;
  // built sessions kept for the next job of the same model (shards of one model, resubmissions)
  const sessions = calibrationSessions();
  const withData = <T>(ref: ArtifactRef | undefined, fn: (file?: string) => Promise<T>): Promise<T> =>
    ref?.uri ? withArtifactFile(store, ref, dataFile(ref), fn) : fn();

  return defineService(CalibratorServiceService, {
    calibrate: serverStream(async function* (req: CalibrateRequest, ctx) {
      if (!req.model?.uri) throw new InvalidArgument('model artifact is required');
      const { model, sha256 } = await readModelWithDigest(store, req.model);
      const method = req.quantizeMode === PbMode.QUANTIZE_MODE_FP8 ? 'distribution' : methodFromProto(req.method);
      const range = req.shardStart === 0 && req.shardEnd === 0 ? undefined : { start: req.shardStart, end: req.shardEnd };
      yield* withProgress<CalibrationProgress, Awaited<ReturnType<typeof collectStatistics>>>(
        (push) =>
          withData(req.calibrationData, (file) =>
            collectStatistics(model, {
              method,
              tensors: req.tensorNames,
              data: file ? { kind: 'file', path: file } : undefined,
              range,
              histogram: histogramOptionsFromProto(req.options),
              alwaysCollectHistograms: req.options?.alwaysCollectHistograms === true,
              histogramRange: histogramRangeFromProto(req.options),
              globalRanges: globalRangesFromProto(req.globalRanges),
              stopAfterRanges: req.rangesOnly,
              signal: ctx.signal,
              onProgress: push,
              sessions: { cache: sessions, model: sha256 },
            }),
          ),
        (p) => ({
          progress: {
            fraction: p.step / Math.max(1, p.steps),
            message: `${p.phase} ${p.step}/${p.steps} (${p.samples} samples)`,
            done: p.step,
            total: p.steps,
          },
        }),
        async function* (stats) {
          const table = stats.phase === 'complete' ? tableToProto(await computeTable(stats, calibratorKernels().kernels)) : undefined;
          yield { result: { table, statistics: statisticsToProto(stats) } };
        },
      ) as AsyncGenerator<CalibrateResponse>;
    }),

    mergeHistograms: unary(async (req): Promise<MergeHistogramsResponse> => {
      const merged = await mergeStatistics(req.shards.map(statisticsFromProto));
      const table = merged.phase === 'complete' ? tableToProto(await computeTable(merged, calibratorKernels().kernels)) : undefined;
      return { table, merged: statisticsToProto(merged) };
    }),

    captureActivations: serverStream(async function* (req: CaptureActivationsRequest, ctx) {
      if (!req.model?.uri) throw new InvalidArgument('model artifact is required');
      const model = await readModel(store, req.model);
      type P = { step: number; steps: number; pass: 'count' | 'capture' };
      yield* withProgress<P, Awaited<ReturnType<typeof captureActivations>>>(
        (push) =>
          withData(req.calibrationData, (file) =>
            captureActivations(model, {
              tensors: req.tensorNames,
              data: file ? { kind: 'file', path: file } : undefined,
              maxTokens: req.maxTokens || 64,
              signal: ctx.signal,
              onProgress: push,
            }),
          ),
        (p) => ({ progress: { fraction: p.step / Math.max(1, p.steps), message: `${p.pass} ${p.step}/${p.steps}`, done: p.step, total: p.steps } }),
        async function* (acts) {
          for (const a of acts) {
            yield { chunk: { tensor: a.tensor, shape: a.shape, data: Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength), batchIndex: 0 } };
          }
          const ref = await store.put(encodeTensorBundle(acts.map((a) => ({ name: a.tensor, shape: a.shape, data: a.data }))), { mediaType: TENSOR_BUNDLE_MEDIA_TYPE });
          yield { activations: ref };
        },
      ) as AsyncGenerator<CaptureActivationsResponse>;
    }),
  });
}
