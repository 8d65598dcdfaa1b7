/**
 * NATS work-queue counterpart of server.ts: the quantizer's `quantize` stage of a job plan.
 * Thin: reads the prepared model, the analysis and the calibration table (or AWQ activations),
 * calls quantizeModel and writes the Q/DQ model.
 */
import type { StageHandler } from '../core/pipeline/runner.js';
import type { MeshRuntime } from '../core/runtime.js';
import { readModel, writeModel } from '../core/runtime.js';
import { decodeTensorBundle } from '../core/tensor-bundle.js';
import type { AnalysisResult, CalibrationTable, CapturedActivation } from '../core/quant-types.js';
import { ROLES, getJson, requireInput, type SelectionConfig } from '../core/pipeline/quantize-flow.js';
import { quantizeModel } from './quantize.js';

export function stageHandlers(runtime: MeshRuntime): Record<string, StageHandler> {
  const store = runtime.artifacts;
  return {
    quantize: async (ctx) => {
      const c = ctx.stage.config as unknown as SelectionConfig;
      const model = await readModel(store, requireInput(ctx.inputs, ROLES.model, 'quantize'));
      const analysisRef = ctx.inputs[ROLES.analysis];
      const analysis = analysisRef ? await getJson<AnalysisResult>(store, analysisRef, 'analysis') : undefined;
      const tableRef = ctx.inputs[ROLES.calibrationTable];
      const calibration = tableRef ? await getJson<CalibrationTable>(store, tableRef, 'calibration table') : undefined;
      const actsRef = ctx.inputs[ROLES.activations];
      const activations: CapturedActivation[] | undefined = actsRef
        ? decodeTensorBundle(await store.get(actsRef)).map((t) => ({ tensor: t.name, shape: t.shape, data: t.data }))
        : undefined;
      ctx.progress.report(0.2, 'inputs loaded');
      const r = await quantizeModel({
        model,
        options: {
          quantizeMode: c.quantizeMode,
          opTypesToQuantize: c.opTypesToQuantize ?? [],
          opTypesToExclude: c.opTypesToExclude ?? [],
          nodesToQuantize: c.nodesToQuantize ?? [],
          nodesToExclude: c.nodesToExclude ?? [],
        },
        analysis,
        calibration,
        activations,
      });
      const out = await writeModel(store, r.model);
      return {
        outputs: { [ROLES.quantizedModel]: out },
        summary: { mode: r.mode, opset: r.opset, quantizedTensors: r.tensors.length, int4Weights: r.weights.length, removedEdges: r.removedEdges, warnings: r.warnings, stats: { ...r.stats } },
      };
    },
  };
}
