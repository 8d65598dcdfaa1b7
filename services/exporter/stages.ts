/**
 * NATS work-queue counterpart of server.ts: the exporter's stages of a job plan.
 *  - export: checks and writes the quantized model (IR version, inline or external data) and
 *    stores the written file(s) as content-addressed artifacts, with the model summary;
 *  - compare: runs the original and the exported model in onnxruntime on the eval data.
 * Thin: the checker, the writer and the comparison live in export.ts / compare.ts.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { StageHandler } from '../core/pipeline/runner.js';
import type { MeshRuntime } from '../core/runtime.js';
import { ONNX_MEDIA_TYPE, readModel } from '../core/runtime.js';
import type { ArtifactRef } from '../core/artifacts/types.js';
import type { ModelProto } from '../core/onnx/index.js';
import { InvalidArgument } from '../core/errors.js';
import { ROLES, dataFileName, putJson, requireInput, withArtifactFile } from '../core/pipeline/quantize-flow.js';
import { exportModel } from './export.js';
import { compareModels, npyToTensor, type Feed } from './compare.js';
import { parseNpy, readNpz, splitFeeds, type NpyArray } from './npz.js';

/** Name of the exported file inside the job (its external data, if any, is `<name>_data`). */
export const EXPORTED_FILE_NAME = 'model.quant.onnx';

async function tempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), 'modelopt-export-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Static batch of the model's first external input (null when dynamic). */
function staticBatch(model: ModelProto): number | null {
  const g = model.graph;
  const inits = new Set((g?.initializer ?? []).map((t) => t.name));
  const first = (g?.input ?? []).find((i) => !inits.has(i.name));
  const d0 = first?.type?.tensorType?.shape?.dim?.[0];
  const v = d0 && !d0.dimParam ? Number(d0.dimValue ?? 0) : 0;
  return v > 0 ? v : null;
}

/** Eval arrays cut into at most `maxBatches` feeds of the model's batch (dynamic batch: nearly equal chunks). */
function evalFeeds(arrays: Record<string, NpyArray>, batch: number | null, maxBatches: number): Feed[] {
  const rows = Math.min(...Object.values(arrays).map((a) => a.shape[0] ?? 1));
  if (!Number.isFinite(rows) || rows < 1) throw new InvalidArgument('eval data has no rows');
  let n: number;
  let use = arrays;
  if (batch) {
    n = Math.min(maxBatches, Math.floor(rows / batch));
    if (n < 1) throw new InvalidArgument(`eval data has ${rows} row(s), fewer than one model batch (${batch})`);
    use = {};
    for (const [k, a] of Object.entries(arrays)) {
      const rowSize = a.shape.slice(1).reduce((x, y) => x * y, 1);
      use[k] = { dtype: a.dtype, shape: [n * batch, ...a.shape.slice(1)], data: a.data.slice(0, n * batch * rowSize) as NpyArray['data'] };
    }
  } else n = Math.min(maxBatches, rows);
  return splitFeeds(use, n).map((f) => Object.fromEntries(Object.entries(f).map(([k, a]) => [k, npyToTensor(a)])));
}

export function stageHandlers(runtime: MeshRuntime): Record<string, StageHandler> {
  const store = runtime.artifacts;
  return {
    export: async (ctx) => {
      const model = await readModel(store, requireInput(ctx.inputs, ROLES.quantizedModel, 'export'), 'quantized model');
      const external = ctx.stage.config['useExternalDataFormat'] === true;
      return tempDir(async (dir) => {
        const r = exportModel(model, path.join(dir, EXPORTED_FILE_NAME), { externalData: external });
        const outputs: Record<string, ArtifactRef> = { [ROLES.outputModel]: await store.putFile(r.files[0]!, { mediaType: ONNX_MEDIA_TYPE }) };
        if (r.files[1]) outputs[ROLES.outputModelData] = await store.putFile(r.files[1], { mediaType: 'application/octet-stream' });
        return {
          outputs,
          summary: { fileName: EXPORTED_FILE_NAME, external: r.external, bytes: r.bytes, checker: { ...r.checker }, ...r.summary },
        };
      });
    },
    compare: async (ctx) => {
      const originalRef = requireInput(ctx.plan.inputs, ROLES.model, 'compare');
      const quantRef = requireInput(ctx.inputs, ROLES.outputModel, 'compare');
      const evalRef = requireInput(ctx.inputs, ROLES.evalData, 'compare');
      const maxBatches = Number(ctx.stage.config['maxBatches'] ?? 16) || 16;
      const original = await store.get(originalRef);
      const batch = staticBatch(await readModel(store, originalRef, 'original model'));
      const arrays = await withArtifactFile(store, evalRef, dataFileName(evalRef, 'eval'), async (file) => {
        if (file.endsWith('.npz')) return readNpz(file);
        const { readFile } = await import('node:fs/promises');
        const inputs = (await readModel(store, originalRef)).graph?.input ?? [];
        return { [inputs[0]?.name ?? 'input']: parseNpy(await readFile(file)) };
      });
      const feeds = evalFeeds(arrays, batch, maxBatches);
      ctx.progress.report(0.1, `comparing on ${feeds.length} batch(es)`);
      const dataRef = ctx.inputs[ROLES.outputModelData];
      const result = dataRef
        ? await tempDir(async (dir) => {
            const file = path.join(dir, EXPORTED_FILE_NAME);
            await writeFile(file, await store.get(quantRef));
            await writeFile(`${file}_data`, await store.get(dataRef));
            return compareModels(original, file, feeds);
          })
        : await compareModels(original, await store.get(quantRef), feeds);
      const ref = await putJson(store, result);
      return { outputs: { [ROLES.comparison]: ref }, summary: { batches: result.batches, quantizedOptimized: result.quantizedOptimized, outputs: result.outputs.map((o) => ({ ...o })) } };
    },
  };
}
