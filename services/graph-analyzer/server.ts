/**
 * gRPC adapter of the graph analyzer: maps modelopt.v1.GraphAnalyzerService onto the domain
 * modules of this folder (prepare.ts, analyze.ts). Thin on purpose: no graph logic here.
 */
import {
  GraphAnalyzerServiceService,
  PartitionKind,
  type AnalyzeResponse,
  type PrepareResponse,
} from '../../gen/modelopt/v1/graph_analyzer.js';
import { QuantizeMode as QuantizeModeMsg, type ArtifactRef, type QuantizeConfig } from '../../gen/modelopt/v1/common.js';
import { defineService, unary, type ServiceRegistration } from '../core/grpc/handlers.js';
import type { ServiceDeps } from '../core/service-main.js';
import { InvalidArgument } from '../core/errors.js';
import { decodeModel, encodeModel, type ModelProto } from '../core/onnx/index.js';
import type { QuantizeMode } from '../core/quant-types.js';
import { prepare } from './prepare.js';
import { analyze } from './analyze.js';
import { modelInputs, batchSize } from './io.js';
import { defaultQuantizableOpTypes } from './op-types.js';

export type GraphAnalyzerDeps = ServiceDeps;

const ONNX_MEDIA_TYPE = 'application/x-onnx';

const MODES: Record<number, QuantizeMode> = {
  [QuantizeModeMsg.QUANTIZE_MODE_UNSPECIFIED]: 'int8',
  [QuantizeModeMsg.QUANTIZE_MODE_INT8]: 'int8',
  [QuantizeModeMsg.QUANTIZE_MODE_FP8]: 'fp8',
  [QuantizeModeMsg.QUANTIZE_MODE_INT4_RTN]: 'int4_rtn',
  [QuantizeModeMsg.QUANTIZE_MODE_INT4_RTN_DQ]: 'int4_rtn_dq',
  [QuantizeModeMsg.QUANTIZE_MODE_INT4_RTN_TRT]: 'int4_rtn_trt',
  [QuantizeModeMsg.QUANTIZE_MODE_INT4_RTN_TRT_DQ]: 'int4_rtn_trt_dq',
  [QuantizeModeMsg.QUANTIZE_MODE_INT4_AWQ_CLIP]: 'int4_awq_clip',
  [QuantizeModeMsg.QUANTIZE_MODE_INT4_AWQ_CLIP_TRT]: 'int4_awq_clip_trt',
};

export function quantizeModeOf(config: QuantizeConfig | undefined): QuantizeMode {
  const m = MODES[config?.quantizeMode ?? 0];
  if (!m) throw new InvalidArgument(`unknown quantize_mode ${config?.quantizeMode}`);
  return m;
}

function requireModel(ref: ArtifactRef | undefined, rpc: string): ArtifactRef {
  if (!ref || !ref.uri) throw new InvalidArgument(`${rpc}: model artifact is required`);
  return ref;
}

const KIND: Record<string, PartitionKind> = { cask: PartitionKind.PARTITION_KIND_CASK, kgen: PartitionKind.PARTITION_KIND_KGEN, pattern: PartitionKind.PARTITION_KIND_PATTERN };

export function graphAnalyzerService(deps: GraphAnalyzerDeps): ServiceRegistration<typeof GraphAnalyzerServiceService> {
  const store = deps.runtime.artifacts;
  const load = async (ref: ArtifactRef): Promise<ModelProto> => decodeModel(await store.get(ref), ref.uri);
  return defineService(GraphAnalyzerServiceService, {
    prepare: unary(async (req, ctx): Promise<PrepareResponse> => {
      const ref = requireModel(req.model, 'Prepare');
      const model = await load(ref);
      ctx.throwIfAborted();
      const intermediates: { name: string; bytes: Uint8Array }[] = [];
      const base = req.modelName || 'model';
      const r = prepare(model, {
        keepIntermediateFiles: req.config?.keepIntermediateFiles === true,
        modelName: base,
        onIntermediate: (name, m) => intermediates.push({ name, bytes: encodeModel(m) }),
      });
      const changed = r.converted || r.named || r.duplicatedWeights;
      const prepared = changed ? await store.put(Buffer.from(encodeModel(r.model)), { mediaType: ONNX_MEDIA_TYPE }) : ref;
      const refs: ArtifactRef[] = [];
      for (const i of intermediates) refs.push(await store.put(Buffer.from(i.bytes), { mediaType: ONNX_MEDIA_TYPE }));
      return {
        preparedModel: prepared,
        renamedNodes: r.renamedNodes.map((n) => ({ nodeIndex: n.index, opType: n.opType, newName: n.name })),
        duplicatedWeights: r.duplicates.map((d) => ({ original: d.original, copy: d.copy, consumer: d.consumer })),
        opset: { fromOpset: r.opsetBefore, toOpset: r.opset, converted: r.converted },
        intermediates: refs,
        intermediateNames: intermediates.map((i) => i.name),
      };
    }),
    analyze: unary(async (req, ctx): Promise<AnalyzeResponse> => {
      const model = await load(requireModel(req.model, 'Analyze'));
      ctx.throwIfAborted();
      const mode = quantizeModeOf(req.config);
      const c = req.config;
      const r = analyze(model, {
        quantizeMode: mode,
        opTypesToQuantize: c?.opTypesToQuantize ?? [],
        opTypesToExclude: c?.opTypesToExclude ?? [],
        nodesToQuantize: c?.nodesToQuantize ?? [],
        nodesToExclude: c?.nodesToExclude ?? [],
      });
      const inputs = modelInputs(model.graph!);
      return {
        opStatistics: Object.entries(r.opTypeCounts).map(([opType, count]) => ({ opType, count })),
        partitions: (r.partitions ?? []).map((p) => ({ kind: KIND[p.kind]!, nodes: p.nodes, pattern: p.pattern ?? '' })),
        selectedNodes: r.quantizableNodes,
        noQuantizeEdges: r.noQuantizeEdges,
        decisions: r.decisions,
        tensorsToCalibrate: r.tensorsToCalibrate,
        opTypesToQuantize: c?.opTypesToQuantize?.length ? c.opTypesToQuantize : [...defaultQuantizableOpTypes(mode)],
        inputs: inputs.map((i) => ({ name: i.name, dims: i.dims })),
        batchSize: batchSize(inputs),
        opset: r.opset,
        predictedQuantizedNodes: r.predictedQuantizedNodes,
      };
    }),
  });
}
