/**
 * Quantizer entry point: one call per mode. Takes the prepared model (opset ≥ 13, named nodes), the
 * graph-analyzer's selection, the calibrator's table (INT8/FP8) or captured activations (AWQ), and
 * edits the model in place into an explicit Q/DQ model.
 */
import { FailedPrecondition, InvalidArgument } from '../core/errors.js';
import { Graph, defaultOpset, type GraphProto, type ModelProto } from '../core/onnx/index.js';
import {
  QUANTIZE_MODES, type AnalysisResult, type CalibrationTable, type CapturedActivation, type QuantizeMode, type QuantizeOptions,
} from '../core/quant-types.js';
import { DEFAULT_FP8_OP_TYPES, DEFAULT_REGISTRY_OP_TYPES } from './op-handlers.js';
import { insertQdq, type QuantizedTensorInfo } from './int8-qdq.js';
import { removeNoQuantizeEdges } from './remove-no-quantize.js';
import { quantizeInt4, type Int4Mode, type Int4WeightInfo } from './int4.js';
import { raiseOpset } from './opset-upgrade.js';
import { DEQUANTIZE_OPS, QUANTIZE_OPS } from './naming.js';

export interface QuantizeRequest {
  /** Edited in place (no copy is made: models can be gigabytes). */
  model: ModelProto;
  options?: Partial<QuantizeOptions>;
  /** The graph-analyzer's result: selection and no-quantize edges (INT8/FP8). */
  analysis?: AnalysisResult;
  /** Activation ranges (INT8/FP8). */
  calibration?: CalibrationTable;
  /** Captured activations (INT4 AWQ). */
  activations?: readonly CapturedActivation[];
  /** INT4 block size (default 128). */
  blockSize?: number;
}

export interface QuantizeStats {
  totalNodes: number;
  quantizeNodes: number;
  dequantizeNodes: number;
  /** Nodes with an input produced by a dequantize op. */
  quantizedNodes: number;
  quantizedByOpType: Record<string, number>;
}

export interface QuantizeResult {
  model: ModelProto;
  mode: QuantizeMode;
  opset: number;
  /** INT8/FP8: the tensors given Q/DQ. */
  tensors: QuantizedTensorInfo[];
  /** INT4: the quantized weights. */
  weights: Int4WeightInfo[];
  removedEdges: number;
  warnings: string[];
  stats: QuantizeStats;
}

function compilePatterns(patterns: readonly string[], what: string): RegExp[] {
  return patterns.map((p) => {
    try {
      return new RegExp(`^(?:${p})`);
    } catch (err) {
      throw new InvalidArgument(`${what}: invalid regular expression "${p}": ${(err as Error).message}`);
    }
  });
}

export function quantizeStats(graphProto: GraphProto): QuantizeStats {
  const graph = new Graph(graphProto);
  const byOp: Record<string, number> = {};
  let q = 0;
  let dq = 0;
  let quantized = 0;
  for (const n of graph.nodes) {
    if (QUANTIZE_OPS.has(n.opType)) q++;
    else if (DEQUANTIZE_OPS.has(n.opType)) dq++;
    else if (n.input.some((i) => i && DEQUANTIZE_OPS.has(graph.producer(i)?.opType ?? ''))) {
      quantized++;
      byOp[n.opType] = (byOp[n.opType] ?? 0) + 1;
    }
  }
  return { totalNodes: graph.nodes.length, quantizeNodes: q, dequantizeNodes: dq, quantizedNodes: quantized, quantizedByOpType: byOp };
}

/** FP8 exclusion: Conv whose Cout mod 16 differs from (Cin/groups) mod 16 (read from the weight). */
export function unpaddableFp8Convs(graph: Graph): string[] {
  const out: string[] = [];
  for (const n of graph.nodes) {
    if (n.opType !== 'Conv' || !n.input[1]) continue;
    const w = graph.constantValue(n.input[1]);
    if (!w || w.dims.length < 2) continue;
    if (Number(w.dims[0]) % 16 !== Number(w.dims[1]) % 16) out.push(n.name);
  }
  return out;
}

/**
 * Graph inputs that only declared an initializer (old exporters list initializers as inputs) must
 * go when cleanup removed that initializer, or they would become required inputs.
 */
function dropOrphanInitializerInputs(graphProto: GraphProto, before: ReadonlySet<string>): void {
  const now = new Set(graphProto.initializer.map((t) => t.name));
  const drop = graphProto.input.filter((i) => before.has(i.name) && !now.has(i.name));
  if (drop.length) graphProto.input = graphProto.input.filter((i) => !drop.includes(i));
}

export async function quantizeModel(req: QuantizeRequest): Promise<QuantizeResult> {
  const before = new Set((req.model.graph?.initializer ?? []).map((t) => t.name));
  const r = await quantizeModelInner(req);
  dropOrphanInitializerInputs(r.model.graph as GraphProto, before);
  return r;
}

async function quantizeModelInner(req: QuantizeRequest): Promise<QuantizeResult> {
  const opts = req.options ?? {};
  const mode = (opts.quantizeMode ?? 'int8') as QuantizeMode;
  if (!(QUANTIZE_MODES as readonly string[]).includes(mode)) {
    throw new InvalidArgument(`unknown quantize mode "${String(mode)}"; expected one of ${QUANTIZE_MODES.join(', ')}`);
  }
  const model = req.model;
  if (!model.graph) throw new InvalidArgument('model has no graph');
  const graphProto = model.graph as GraphProto;
  const warnings: string[] = [];

  if (mode.startsWith('int4')) {
    const r = await quantizeInt4(model, mode as Int4Mode, { blockSize: req.blockSize ?? opts.int4BlockSize, activations: req.activations });
    for (const s of r.skipped) warnings.push(`skipped ${s.weight} of ${s.node}: ${s.reason}`);
    return { model, mode, opset: defaultOpset(model), tensors: [], weights: r.weights, removedEdges: 0, warnings, stats: quantizeStats(graphProto) };
  }

  // INT8 / FP8
  const graph = new Graph(graphProto);
  let opset = defaultOpset(model);
  if (opset < 10) {
    throw new FailedPrecondition(`QuantizeLinear needs opset 10 or later and per-channel weights need 13; the model has opset ${opset} (convert it with the graph-analyzer's Prepare)`);
  }
  const userTypes = opts.opTypesToQuantize ?? [];
  const names = graph.nodes.map((n) => n.name);
  let selection: string[];
  if (opts.nodesToQuantize && opts.nodesToQuantize.length) {
    const res = compilePatterns(opts.nodesToQuantize, 'nodesToQuantize');
    selection = names.filter((n) => res.some((r) => r.test(n)));
  } else if (req.analysis) {
    selection = [...req.analysis.quantizableNodes];
  } else if (userTypes.length) {
    selection = graph.nodes.filter((n) => userTypes.includes(n.opType)).map((n) => n.name);
  } else {
    throw new InvalidArgument(`${mode} needs the graph-analyzer's selection (analysis) or nodesToQuantize`);
  }
  if (selection.length === 0) {
    throw new FailedPrecondition('no node is selected for quantization (the model has no quantizable node); nothing was written');
  }
  const excludeRes = compilePatterns(opts.nodesToExclude ?? [], 'nodesToExclude');
  const exclude = new Set<string>(names.filter((n) => excludeRes.some((r) => r.test(n))));
  const excludedTypes = new Set(opts.opTypesToExclude ?? []);
  for (const n of graph.nodes) if (excludedTypes.has(n.opType)) exclude.add(n.name);
  if (mode === 'fp8') for (const n of unpaddableFp8Convs(graph)) exclude.add(n);

  const opTypes = new Set<string>(userTypes.length ? userTypes : DEFAULT_REGISTRY_OP_TYPES);
  if (mode === 'fp8') {
    opset = raiseOpset(model, 19, 'FP8 E4M3FN QuantizeLinear');
    if (Number(model.irVersion) < 9) model.irVersion = 9;
  }
  if (!req.calibration) throw new FailedPrecondition(`${mode} needs a calibration table with activation ranges`);
  const r = insertQdq(graphProto, {
    precision: mode === 'fp8' ? 'fp8' : 'int8',
    nodesToQuantize: new Set(selection),
    opTypesToQuantize: opTypes,
    nodesToExclude: exclude,
    ranges: req.calibration.ranges,
    perChannel: mode === 'int8' && opset >= 13,
    opset,
  });
  warnings.push(...r.warnings);
  if (r.unknownNodes.length) warnings.push(`${r.unknownNodes.length} selected node(s) not in the graph, e.g. "${r.unknownNodes[0]}"`);
  let removedEdges = 0;
  if (mode === 'int8' && req.analysis?.noQuantizeEdges.length) {
    const rm = removeNoQuantizeEdges(graphProto, req.analysis.noQuantizeEdges);
    removedEdges = rm.removed.length;
  } else {
    new Graph(graphProto).cleanup();
  }
  new Graph(graphProto).toposort();
  return { model, mode, opset, tensors: r.tensors, weights: [], removedEdges, warnings, stats: quantizeStats(graphProto) };
}

export { DEFAULT_FP8_OP_TYPES };
