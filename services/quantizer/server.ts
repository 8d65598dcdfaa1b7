/**
 * gRPC adapter of the quantizer: maps modelopt.v1.QuantizerService onto quantize.ts. Thin on
 * purpose: reads the artifacts, converts the messages, streams progress, writes the result.
 */
import { QuantizerServiceService, type QuantizeRequest, type QuantizeResponse } from '../../gen/modelopt/v1/quantizer.js';
import { CalibrationTable as PbCalibrationTable } from '../../gen/modelopt/v1/calibrator.js';
import { defineService, serverStream, type ServiceRegistration } from '../core/grpc/handlers.js';
import { analysisFromProto, calibrationTableFromProto, optionsFromProto } from '../core/grpc/convert.js';
import type { ServiceDeps } from '../core/service-main.js';
import { readModel, writeModel } from '../core/runtime.js';
import { decodeTensorBundle } from '../core/tensor-bundle.js';
import { InvalidArgument } from '../core/errors.js';
import type { CalibrationTable } from '../core/quant-types.js';
import type { ArtifactStore, ArtifactRef } from '../core/artifacts/index.js';
import { quantizeModel } from './quantize.js';

export type QuantizerDeps = ServiceDeps;

async function readTable(store: ArtifactStore, ref: ArtifactRef): Promise<CalibrationTable> {
  const bytes = await store.get(ref);
  let pb: PbCalibrationTable;
  try {
    pb = PbCalibrationTable.fromJSON(JSON.parse(bytes.toString('utf8')));
  } catch {
    try {
      pb = PbCalibrationTable.decode(bytes);
    } catch (err) {
      throw new InvalidArgument(`calibration_table ${ref.uri}: neither JSON nor a binary CalibrationTable (${(err as Error).message})`);
    }
  }
  return calibrationTableFromProto(pb);
}

export function quantizerService(deps: QuantizerDeps): ServiceRegistration<typeof QuantizerServiceService> {
  const store = deps.runtime.artifacts;
  return defineService(QuantizerServiceService, {
    quantize: serverStream(async function* (req: QuantizeRequest, ctx): AsyncGenerator<QuantizeResponse> {
      if (!req.model?.uri) throw new InvalidArgument('model artifact is required');
      const options = optionsFromProto(req.config);
      yield { progress: { fraction: 0, message: `loading model for ${options.quantizeMode}`, done: 0, total: 3 } };
      const model = await readModel(store, req.model);
      const int4 = options.quantizeMode.startsWith('int4');
      const analysis = !int4 && req.analysis ? analysisFromProto(req.analysis) : undefined;
      const calibration = int4 ? undefined : req.calibration ? calibrationTableFromProto(req.calibration) : req.calibrationTable?.uri ? await readTable(store, req.calibrationTable) : undefined;
      const activations = req.activations?.uri
        ? decodeTensorBundle(await store.get(req.activations)).map((t) => ({ tensor: t.name, shape: t.shape, data: t.data }))
        : undefined;
      ctx.throwIfAborted();
      yield { progress: { fraction: 0.2, message: 'inserting Q/DQ', done: 1, total: 3 } };
      const r = await quantizeModel({ model, options, analysis, calibration, activations });
      ctx.throwIfAborted();
      yield { progress: { fraction: 0.8, message: 'writing the quantized model', done: 2, total: 3 } };
      const ref = await writeModel(store, r.model);
      yield {
        result: {
          quantizedModel: ref,
          stats: {
            quantizedNodes: r.stats.quantizedNodes,
            quantizedByOpType: Object.entries(r.stats.quantizedByOpType).map(([opType, count]) => ({ opType, count })),
            quantizeLinearNodes: r.stats.quantizeNodes,
            dequantizeLinearNodes: r.stats.dequantizeNodes,
            removedPairs: r.removedEdges,
            quantizedWeights: r.weights.length,
          },
          warnings: r.warnings,
        },
      };
    }),
  });
}
