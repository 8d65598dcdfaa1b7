/**
 * NATS work-queue counterpart of server.ts: the calibrator's `calibrate` stage of a job plan.
 * INT8/FP8: activation ranges → calibration table (JSON artifact). INT4 AWQ: the activations
 * the quantizer needs, as a tensor bundle. Thin: no statistics here.
 */
import type { StageHandler } from '../core/pipeline/runner.js';
import type { MeshRuntime } from '../core/runtime.js';
import { readModel } from '../core/runtime.js';
import { Unimplemented } from '../core/errors.js';
import type { AnalysisResult, CalibrationMethod } from '../core/quant-types.js';
import { ROLES, dataFileName, getJson, putJson, requireInput, withArtifactFile } from '../core/pipeline/quantize-flow.js';
import { calibrate } from './calibrate.js';

export function stageHandlers(runtime: MeshRuntime): Record<string, StageHandler> {
  const store = runtime.artifacts;
  return {
    calibrate: async (ctx) => {
      const cfg = ctx.stage.config;
      if (cfg['captureActivations'] === true) {
        throw new Unimplemented('activation capture for INT4 AWQ is not available on the work queue yet (the calibrator has no capture-activations domain module)');
      }
      const model = await readModel(store, requireInput(ctx.inputs, ROLES.model, 'calibrate'));
      const analysis = await getJson<AnalysisResult>(store, requireInput(ctx.inputs, ROLES.analysis, 'calibrate'), 'analysis');
      const method = cfg['calibrationMethod'] as CalibrationMethod;
      const run = (file?: string) =>
        calibrate(model, {
          method,
          tensors: analysis.tensorsToCalibrate,
          data: file ? { kind: 'file', path: file } : undefined,
          onProgress: (p) => {
            ctx.progress.report(p.steps > 0 ? p.step / p.steps : 0, `${p.phase} ${p.step}/${p.steps}`, { done: p.step, total: p.steps });
          },
        });
      const data = ctx.inputs[ROLES.calibrationData];
      const table = data ? await withArtifactFile(store, data, dataFileName(data, 'calibration'), run) : await run();
      const ref = await putJson(store, table);
      return {
        outputs: { [ROLES.calibrationTable]: ref },
        summary: { method: table.method, samples: table.samples, tensors: Object.keys(table.ranges).length, notes: table.notes ?? [] },
      };
    },
  };
}
