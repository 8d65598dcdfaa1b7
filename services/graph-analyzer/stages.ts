/**
 * NATS work-queue counterpart of server.ts: the graph-analyzer's stages of a job plan (prepare,
 * analyze). Thin: read inputs by role from the artifact store, call the domain, write outputs.
 */
import type { StageHandler } from '../core/pipeline/runner.js';
import type { MeshRuntime } from '../core/runtime.js';
import { readModel, writeModel } from '../core/runtime.js';
import { ROLES, putJson, requireInput, type SelectionConfig } from '../core/pipeline/quantize-flow.js';
import { prepare } from './prepare.js';
import { analyze } from './analyze.js';

export function stageHandlers(runtime: MeshRuntime): Record<string, StageHandler> {
  const store = runtime.artifacts;
  return {
    prepare: async (ctx) => {
      const ref = requireInput(ctx.inputs, ROLES.model, 'prepare');
      const model = await readModel(store, ref);
      ctx.progress.report(0.3, 'model loaded');
      const r = prepare(model, { keepIntermediateFiles: false });
      const changed = r.converted || r.named || r.duplicatedWeights;
      const out = changed ? await writeModel(store, r.model) : ref;
      return {
        outputs: { [ROLES.model]: out },
        summary: { opsetBefore: r.opsetBefore, opset: r.opset, converted: r.converted, renamedNodes: r.renamedNodes.length, duplicatedWeights: r.duplicates.length },
      };
    },
    analyze: async (ctx) => {
      const model = await readModel(store, requireInput(ctx.inputs, ROLES.model, 'analyze'));
      const c = ctx.stage.config as unknown as SelectionConfig;
      const r = analyze(model, {
        quantizeMode: c.quantizeMode,
        opTypesToQuantize: c.opTypesToQuantize ?? [],
        opTypesToExclude: c.opTypesToExclude ?? [],
        nodesToQuantize: c.nodesToQuantize ?? [],
        nodesToExclude: c.nodesToExclude ?? [],
      });
      const analysis = await putJson(store, r);
      return {
        outputs: { [ROLES.analysis]: analysis },
        summary: { selectedNodes: r.quantizableNodes.length, tensorsToCalibrate: r.tensorsToCalibrate.length, noQuantizeEdges: r.noQuantizeEdges.length },
      };
    },
  };
}
