/**
 * gRPC adapter of the exporter: maps modelopt.v1.ExporterService onto export.ts and compare.ts.
 * Thin on purpose: artifacts in and out, message conversion.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ExporterServiceService, type CompareResponse, type ExportResponse } from '../../gen/modelopt/v1/exporter.js';
import { defineService, unary, type ServiceRegistration } from '../core/grpc/handlers.js';
import type { ServiceDeps } from '../core/service-main.js';
import { readModel } from '../core/runtime.js';
import { InvalidArgument } from '../core/errors.js';
import { decodeModel, Graph, type GraphProto } from '../core/onnx/index.js';
import { exportModel } from './export.js';
import { compareModels, npyToTensor, type Feed } from './compare.js';
import { parseNpz, splitFeeds, type NpyArray } from './npz.js';
import * as ort from 'onnxruntime-node';

export type ExporterDeps = ServiceDeps;

/** Feeds from an npz (rows split along axis 0, one model batch each), or uniform [0,1) data. */
function feedsFor(modelBytes: Uint8Array, arrays: Record<string, NpyArray> | undefined, maxBatches: number): Feed[] {
  const graph = new Graph(decodeModel(modelBytes).graph as GraphProto);
  const inputs = graph.inputs;
  if (!arrays) {
    const feed: Feed = {};
    let s = 12345;
    for (const i of inputs) {
      const dims = (i.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimValue && Number(d.dimValue) > 0 ? Number(d.dimValue) : 1));
      const n = dims.reduce((a, b) => a * b, 1);
      const et = Number(i.type?.tensorType?.elemType ?? 1);
      if (et === 1) feed[i.name] = new ort.Tensor('float32', Float32Array.from({ length: n }, () => ((s = (s * 1664525 + 1013904223) >>> 0) / 4294967296)), dims);
      else if (et === 7) feed[i.name] = new ort.Tensor('int64', new BigInt64Array(n), dims);
      else throw new InvalidArgument(`input ${i.name}: random data only for float32/int64 inputs; give eval_data`);
    }
    return [feed];
  }
  for (const i of inputs) if (!arrays[i.name]) throw new InvalidArgument(`eval_data has no array for input "${i.name}" (has ${Object.keys(arrays).join(', ')})`);
  const first = inputs[0]!;
  const b0 = Number(first.type?.tensorType?.shape?.dim?.[0]?.dimValue ?? 0);
  const batch = b0 > 0 ? b0 : 1;
  const rows = arrays[first.name]!.shape[0] ?? 1;
  const n = Math.max(1, Math.floor(rows / batch));
  const parts = splitFeeds(Object.fromEntries(inputs.map((i) => [i.name, arrays[i.name]!])), n);
  const limited = maxBatches > 0 ? parts.slice(0, maxBatches) : parts;
  return limited.map((p) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, npyToTensor(v)])));
}

export function exporterService(deps: ExporterDeps): ServiceRegistration<typeof ExporterServiceService> {
  const store = deps.runtime.artifacts;
  return defineService(ExporterServiceService, {
    export: unary(async (req): Promise<ExportResponse> => {
      if (!req.model?.uri) throw new InvalidArgument('model artifact is required');
      const model = await readModel(store, req.model);
      let out = req.outputPath ?? "";
      let tmp: string | undefined;
      if (!out) {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'modelopt-export-'));
        out = path.join(tmp, `${req.model.sha256.slice(0, 16) || 'model'}.quant.onnx`);
      }
      try {
        const r = exportModel(model, out, { externalData: req.useExternalDataFormat === true });
        const written = [];
        for (const f of r.files) written.push(await store.putFile(f, { mediaType: f.endsWith('.onnx') ? 'application/x-onnx' : 'application/octet-stream' }));
        return {
          written,
          checker: { passed: r.checker.passed, messages: [...r.checker.errors, ...r.checker.warnings] },
          summary: {
            totalNodes: r.summary.totalNodes,
            quantizedNodes: r.summary.quantizedNodes.length,
            quantizedByOpType: Object.entries(r.summary.quantizedByOpType).map(([opType, count]) => ({ opType, count })),
            irVersion: r.summary.irVersion,
            opset: r.summary.opset,
          },
        };
      } finally {
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
      }
    }),
    compare: unary(async (req): Promise<CompareResponse> => {
      if (!req.original?.uri || !req.quantized?.uri) throw new InvalidArgument('original and quantized model artifacts are required');
      const original = await store.get(req.original);
      const quantized = await store.get(req.quantized);
      const arrays = req.evalData?.uri ? parseNpz(await store.get(req.evalData)) : undefined;
      const r = await compareModels(original, quantized, feedsFor(original, arrays, req.maxBatches ?? 0));
      return { outputs: r.outputs.map((o) => ({ output: o.output, cosine: o.cosine, snrDb: o.snrDb, maxAbsError: o.maxAbsError, meanAbsError: o.meanAbsError, top1Agreement: o.top1Agreement })), batches: r.batches };
    }),
  });
}
