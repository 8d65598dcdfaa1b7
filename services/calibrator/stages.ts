/**
 * NATS work-queue counterpart of server.ts: the calibrator's `calibrate` stage of a job plan.
 * INT8/FP8: activation ranges → calibration table (JSON artifact). INT4 AWQ: the activations
 * the quantizer needs, as a tensor bundle. Thin: no statistics here.
 */
import type { StageHandler } from '../core/pipeline/runner.js';
import type { MeshRuntime } from '../core/runtime.js';
import { readModelWithDigest } from '../core/runtime.js';
import { encodeTensorBundle } from '../core/tensor-bundle.js';
import type { AnalysisResult, CalibrationMethod } from '../core/quant-types.js';
import { ROLES, TENSOR_BUNDLE_MEDIA_TYPE, dataFileName, getJson, putJson, requireInput, withArtifactFile } from '../core/pipeline/quantize-flow.js';
import { calibrate } from './calibrate.js';
import { captureActivations } from './capture-activations.js';
import { calibrationSessions } from './session-cache.js';

export function stageHandlers(runtime: MeshRuntime): Record<string, StageHandler> {
  const store = runtime.artifacts;
  return {
    calibrate: async (ctx) => {
      const cfg = ctx.stage.config;
      const { model, sha256 } = await readModelWithDigest(store, requireInput(ctx.inputs, ROLES.model, 'calibrate'));
      const analysis = await getJson<AnalysisResult>(store, requireInput(ctx.inputs, ROLES.analysis, 'calibrate'), 'analysis');
      const data = ctx.inputs[ROLES.calibrationData];
      const withData = <T>(fn: (file?: string) => Promise<T>): Promise<T> => (data ? withArtifactFile(store, data, dataFileName(data, 'calibration'), fn) : fn());
      if (cfg['captureActivations'] === true) {
        // INT4 AWQ: the sampled activations of every weight's input, as one tensor bundle
        const acts = await withData((file) =>
          captureActivations(model, {
            tensors: analysis.tensorsToCalibrate,
            data: file ? { kind: 'file', path: file } : undefined,
            maxTokens: Number(cfg['maxTokens'] ?? 64),
            onProgress: (p) => ctx.progress.report(p.steps > 0 ? p.step / p.steps : 0, `${p.pass} ${p.step}/${p.steps}`, { done: p.step, total: p.steps }),
          }),
        );
        const ref = await store.put(encodeTensorBundle(acts.map((a) => ({ name: a.tensor, shape: a.shape, data: a.data }))), { mediaType: TENSOR_BUNDLE_MEDIA_TYPE });
        return { outputs: { [ROLES.activations]: ref }, summary: { tensors: acts.length, rows: acts.map((a) => a.shape[0] ?? 0) } };
      }
      const method = cfg['calibrationMethod'] as CalibrationMethod;
      const run = (file?: string) =>
        calibrate(model, {
          method,
          tensors: analysis.tensorsToCalibrate,
          data: file ? { kind: 'file', path: file } : undefined,
          sessions: { cache: calibrationSessions(), model: sha256 },
          onProgress: (p) => {
            ctx.progress.report(p.steps > 0 ? p.step / p.steps : 0, `${p.phase} ${p.step}/${p.steps}`, { done: p.step, total: p.steps });
          },
        });
      const table = await withData(run);
      const ref = await putJson(store, table);
      return {
        outputs: { [ROLES.calibrationTable]: ref },
        summary: { method: table.method, samples: table.samples, tensors: Object.keys(table.ranges).length, notes: table.notes ?? [] },
      };
    },
  };
}
