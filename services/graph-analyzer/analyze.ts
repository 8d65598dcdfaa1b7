/**
 * Analyze: the reference's QDQ placement decisions for a prepared model (SPEC §1, §3 steps 3-5): partitions,
 * quantizable nodes, no-quantize input edges, exclusions, every decision with its rule, the activations the
 * calibrator must cover and op statistics.
 */
import type { ModelProto, GraphProto, TensorProto, ValueInfoProto } from '../core/onnx/index.js';
import { defaultOpset, tensorToNumbers, constantNodeValue } from '../core/onnx/index.js';
import { InvalidArgument } from '../core/errors.js';
import type { AnalysisResult, NodeDecision, NoQuantizeEdge, QuantizeMode } from '../core/quant-types.js';
import { QUANTIZE_MODES } from '../core/quant-types.js';
import { AGraph } from './agraph.js';
import { ConstTensors } from './const-tensors.js';
import { PathMatcher } from './path-match.js';
import { Backbones, buildNonResidualMap } from './backbone.js';
import { findPatternPartitions } from './patterns.js';
import { FusiblePartitioner } from './partitions.js';
import { classifyCask, filterKgenHeads, findRemaining, outputLayerSkips, compileNamePatterns, type Edge } from './select.js';
import { defaultQuantizableOpTypes, INT8_DEFAULT_OP_TYPES } from './op-types.js';
import { inferElemTypesById } from './dtypes.js';
import { predictQdq } from './qdq-predict.js';
import { checkOps, validateGraph, isPrepared, takePreparedIndex, MAX_SUPPORTED_OPSET } from './validate.js';

export interface AnalyzeOptions {
  quantizeMode?: QuantizeMode;
  /** Op types to quantize; empty means the mode's default. */
  opTypesToQuantize?: string[];
  opTypesToExclude?: string[];
  /** Regular expressions anchored at the start of node names; when given, they replace the selection. */
  nodesToQuantize?: string[];
  nodesToExclude?: string[];
  /**
   * Op types ONNX Runtime may quantize (defaults to the selection's types). Only for reproducing the reference
   * on a particular onnxruntime (see INT8_ORT130_OP_TYPES).
   */
  ortOpTypes?: readonly string[];
  /** How no-quantize edges are removed when predicting the quantized graph (default 'intended'). */
  removal?: 'reference' | 'intended';
}

export interface AnalysisDetail extends AnalysisResult {
  /** Nodes that will read a DequantizeLinear output after quantization (the reference's statistics). */
  predictedQuantizedNodes: string[];
  opset: number;
}

export function analyze(model: ModelProto, opts: AnalyzeOptions = {}): AnalysisDetail {
  const mode = opts.quantizeMode ?? 'int8';
  if (!QUANTIZE_MODES.includes(mode)) throw new InvalidArgument(`unknown quantize mode "${mode}"; expected one of ${QUANTIZE_MODES.join(', ')}`);
  const graph = model.graph as GraphProto;
  initIdx.delete(graph);
  viIdx.delete(graph);
  const opset = defaultOpset(model);
  if (opset > MAX_SUPPORTED_OPSET) throw new InvalidArgument(`model opset ${opset} is beyond the supported ${MAX_SUPPORTED_OPSET}`);
  const g = takePreparedIndex(graph) ?? new AGraph(graph);
  if (!isPrepared(graph)) {
    validateGraph(g);
    checkOps(g);
  }
  const elemTypes = inferElemTypesById(g);
  const opTypeCounts: Record<string, number> = {};
  for (let i = 0; i < g.size; i++) opTypeCounts[g.ops[i]!] = (opTypeCounts[g.ops[i]!] ?? 0) + 1;

  const decisions: (NodeDecision | undefined)[] = new Array(g.size);
  const decide = (i: number, quantized: boolean, rule: string, reason: string): void => {
    decisions[i] = { node: g.names[i]!, opType: g.ops[i]!, quantized, rule, reason };
  };
  // one reason string per op type / partition instead of one per node
  const perOp = new Map<string, string>();
  const opReason = (key: string, op: string, make: (op: string) => string): string => {
    const k = `${key}\u0000${op}`;
    let r = perOp.get(k);
    if (r === undefined) perOp.set(k, (r = make(op)));
    return r;
  };

  if (mode.startsWith('int4')) return analyzeInt4(model, g, mode, opTypeCounts, opset);

  const userTypes = opts.opTypesToQuantize ?? [];
  const quantTypes = new Set<string>(mode === 'fp8' ? (userTypes.length ? userTypes : defaultQuantizableOpTypes('fp8')) : userTypes.length ? userTypes : INT8_DEFAULT_OP_TYPES);

  const consts = new ConstTensors(g);
  const paths = new PathMatcher(g, consts);
  const backbones = new Backbones(g, paths);
  let selected: number[] = [];
  let noQuantize: Edge[] = [];
  let partitions: AnalysisResult['partitions'] = [];

  if (opts.nodesToQuantize && opts.nodesToQuantize.length) {
    const pats = compileNamePatterns(opts.nodesToQuantize);
    for (let i = 0; i < g.size; i++) {
      if (matchesAny0(pats, g.names[i]!)) {
        selected.push(i);
        decide(i, true, 'user-nodes', 'matched a nodes_to_quantize pattern');
      } else decide(i, false, 'user-nodes', 'not matched by any nodes_to_quantize pattern');
    }
  } else {
    const nonResidual = buildNonResidualMap(g, consts, backbones);
    const partitioned = new Uint8Array(g.size);
    const patterns = findPatternPartitions(g, paths);
    const names = (p: number[]): string[] => {
      const out = new Array<string>(p.length);
      for (let k = 0; k < p.length; k++) out[k] = g.names[p[k]!]!;
      return out;
    };
    for (let q = 0; q < patterns.length; q++) {
      const p = patterns[q]!;
      for (let k = 0; k < p.nodes.length; k++) {
        const n = p.nodes[k]!;
        partitioned[n] = 1;
        decide(n, false, `pattern-${p.kind}`, `part of a ${p.kind === 'gelu' ? 'GELU' : p.kind === 'mha' ? 'MatMul→MatMul attention' : 'LayerNorm'} pattern, which is never auto-quantized`);
      }
      if (p.nodes.length) partitions.push({ kind: 'pattern', pattern: p.kind, nodes: names(p.nodes) });
    }
    const { cask, kgen } = new FusiblePartitioner({ g, consts, paths, backbones, nonResidual, partitioned }).findAll();
    for (let q = 0; q < cask.length; q++) partitions.push({ kind: 'cask', nodes: names(cask[q]!) });
    for (let q = 0; q < kgen.length; q++) partitions.push({ kind: 'kgen', nodes: names(kgen[q]!) });
    for (let q = 0; q < kgen.length; q++) {
      const p = kgen[q]!;
      if (p.length < 2) continue;
      const why = `fused into the KGEN partition headed by ${g.label(p[0]!)}`;
      for (let k = 1; k < p.length; k++) decide(p[k]!, false, 'kgen-member', why);
    }
    const cls = classifyCask(g, consts, cask);
    // (indexed loops and no spreads over per-node lists here: this function runs once, and its for-of loops
    // ran unoptimised, allocating an iterator result per element)
    for (let k = 0; k < cls.internal.length; k++) decide(cls.internal[k]!, false, 'cask-internal', 'all its non-const inputs come from inside its CASK partition');
    for (let k = 0; k < cls.quantizable.length; k++) decide(cls.quantizable[k]!, true, 'cask-head', 'CASK partition node whose non-const inputs all come from outside the partition');
    for (let k = 0; k < cls.partial.length; k++) decide(cls.partial[k]!, true, 'cask-partial', 'CASK partition node with inputs from inside and outside the partition; the inside inputs stay unquantized');
    const kg = filterKgenHeads(g, consts, cask, kgen, quantTypes);
    kg.skipped.forEach((why, n) => decide(n, false, 'kgen-head-skipped', why));
    for (let k = 0; k < kg.heads.length; k++) decide(kg.heads[k]!, true, 'kgen-head', 'KGEN head consuming the output of a CASK partition or a pooling/normalization op');
    const sel = kg.heads.concat(cls.quantizable, cls.partial);
    const rem = findRemaining(g, consts, partitioned, sel, quantTypes);
    rem.skipped.forEach((s, n) => decide(n, false, s.rule, s.reason));
    for (let k = 0; k < rem.nodes.length; k++) {
      const n = rem.nodes[k]!;
      decide(n, true, 'remaining', opReason('rem', g.ops[n]!, (op) => `unpartitioned ${op} of a quantizable type`));
      sel.push(n);
    }
    const skips = outputLayerSkips(g, new Set(cls.partial));
    const seen = new Uint8Array(g.size);
    for (let k = 0; k < sel.length; k++) {
      const n = sel[k]!;
      if (seen[n]) continue;
      seen[n] = 1;
      if (skips.has(n)) decide(n, false, 'output-layer-skip', 'produces a graph output and is not Conv, Gemm, MatMul or partially quantizable');
      else selected.push(n);
    }
    noQuantize = cls.noQuantize.concat(kg.noQuantize);
  }
  if (!userTypes.length && !selected.length) {
    // the reference stops here without writing a model
  }

  // Exclusions.
  // node flags (typed arrays: sets of hundreds of thousands of ids cost more than the passes using them)
  const excluded = new Uint8Array(g.size);
  const exPats = compileNamePatterns(opts.nodesToExclude ?? []);
  const exTypes = new Set(opts.opTypesToExclude ?? []);
  const matchesAny = (pats: RegExp[], name: string): boolean => {
    for (let k = 0; k < pats.length; k++) if (pats[k]!.test(name)) return true;
    return false;
  };
  for (let i = 0; i < g.size; i++) {
    const name = g.names[i]!;
    if (exPats.length && matchesAny(exPats, name)) {
      excluded[i] = 1;
      if (decisions[i]?.quantized) decide(i, false, 'excluded-name', 'matched a nodes_to_exclude pattern');
    } else if (exTypes.size && exTypes.has(g.ops[i]!)) {
      excluded[i] = 1;
      if (decisions[i]?.quantized) decide(i, false, 'excluded-op-type', `op type ${g.ops[i]} is excluded`);
    } else if (mode === 'fp8' && g.ops[i] === 'Conv') {
      const w = weightShape(g, graph, g.inputs(i)[1]);
      if (w && w.length >= 2 && w[0]! % 16 !== w[1]! % 16) {
        excluded[i] = 1;
        if (decisions[i]?.quantized) decide(i, false, 'fp8-unpaddable-conv', `FP8 kernels need matching 16-channel alignment: Cout ${w[0]} mod 16 ≠ Cin/g ${w[1]} mod 16`);
      }
    }
  }
  const finalSel = selected.filter((n) => !excluded[n]);
  const inSel = new Uint8Array(g.size);
  for (let k = 0; k < finalSel.length; k++) inSel[finalSel[k]!] = 1;

  // ORT placement on the model's own node order (node ids are file positions).
  const ortTypes = new Set(opts.ortOpTypes ?? (userTypes.length ? userTypes : [...quantTypes, ...INT8_DEFAULT_OP_TYPES]));
  const pred = predictQdq(g, {
    ortOpTypes: ortTypes,
    selected: { has: (i: number) => inSel[i] === 1 },
    excluded: { has: (i: number) => excluded[i] === 1 },
    perChannel: mode === 'int8' && opset >= 13,
    opset: mode === 'fp8' && opset < 19 ? 19 : opset,
    fp8: mode === 'fp8',
    elemTypes,
    noQuantize: mode === 'int8' ? noQuantize : [],
    removal: opts.removal ?? 'intended',
  });

  for (let i = 0; i < g.size; i++) {
    if (!decisions[i]) {
      const op = g.ops[i]!;
      if (!quantTypes.has(op)) decide(i, false, 'not-quantizable-type', opReason('nq', op, (o) => `${o} is not among the quantizable op types`));
      else decide(i, false, 'partitioned', 'already part of a partition');
    }
  }
  const edges: NoQuantizeEdge[] = noQuantize.map((e) => ({ producer: g.names[e.producer]!, consumer: g.names[e.consumer]!, tensor: e.tensor }));
  const quantizableNodes: string[] = [];
  const order = g.order;
  for (let oi = 0; oi < order.length; oi++) if (inSel[order[oi]!]) quantizableNodes.push(g.names[order[oi]!]!);
  return {
    quantizableNodes,
    noQuantizeEdges: edges,
    decisions: orderedDecisions(order, decisions),
    tensorsToCalibrate: pred.activations,
    opTypeCounts,
    partitions,
    predictedQuantizedNodes: pred.withDqInput.map((i) => g.names[i]!),
    opset,
  };
}

/** Dims of a constant tensor: an initializer or a Constant node's value; undefined otherwise. */
export function constantDims(g: AGraph, graph: GraphProto, t: string | undefined): number[] | undefined {
  if (!t) return undefined;
  const init = initializerIndex(graph).get(t);
  if (init) return init.dims.map(Number);
  const p = g.firstProducer(t);
  return p >= 0 && g.ops[p] === 'Constant' ? constantNodeValue(g.nodes[p]!.attribute, t)?.dims.map(Number) : undefined;
}

/** Shape of a weight tensor: initializer dims, a Constant node's value, a ConstantOfShape with a const shape, or value_info. */
export function weightShape(g: AGraph, graph: GraphProto, t: string | undefined): number[] | undefined {
  if (!t) return undefined;
  const c = constantDims(g, graph, t);
  if (c) return c;
  const p = g.firstProducer(t);
  if (p >= 0) {
    const node = g.nodes[p]!;
    if (node.opType === 'Constant') return undefined;
    if (node.opType === 'ConstantOfShape' && node.input[0]) {
      const s = initializerIndex(graph).get(node.input[0]);
      if (s) return tensorToNumbers(s);
      const sp = g.firstProducer(node.input[0]);
      if (sp >= 0 && g.nodes[sp]!.opType === 'Constant') {
        const v = constantNodeValue(g.nodes[sp]!.attribute, node.input[0]);
        if (v) return tensorToNumbers(v);
      }
    }
  }
  const vi = valueInfoIndex(graph).get(t);
  const dims = vi?.type?.tensorType?.shape?.dim;
  if (dims && dims.every((d) => d.dimValue)) return dims.map((d) => Number(d.dimValue));
  return undefined;
}

function analyzeInt4(model: ModelProto, g: AGraph, mode: QuantizeMode, opTypeCounts: Record<string, number>, opset: number): AnalysisDetail {
  const graph = model.graph as GraphProto;
  const awq = mode.startsWith('int4_awq');
  // weights held in Constant nodes are weights, as initializers are
  const constDims = (t: string | undefined): number[] | undefined => constantDims(g, graph, t);
  const decisions: NodeDecision[] = [];
  const chosen: string[] = [];
  const calib: string[] = [];
  for (let oi = 0, order = g.order; oi < order.length; oi++) {
    const i = order[oi]!;
    const op = g.ops[i]!;
    const name = g.names[i]!;
    if (op !== 'Gemm' && op !== 'MatMul') {
      decisions.push({ node: name, opType: op, quantized: false, rule: 'int4-not-gemm-matmul', reason: 'INT4 modes quantize only Gemm and MatMul weights' });
      continue;
    }
    const ins = g.inputs(i);
    let ok: boolean;
    if (awq) {
      const w = constDims(ins[1]);
      ok = !!w && w.length !== 1 && !!ins[0] && !constDims(ins[0]);
      if (ok) calib.push(ins[0]!);
    } else ok = ins.some((t) => { const d = constDims(t); return !!d && d.length !== 1; });
    decisions.push(
      ok
        ? { node: name, opType: op, quantized: true, rule: 'int4-weight', reason: 'has a non-1-D constant weight (initializer or Constant node)' }
        : { node: name, opType: op, quantized: false, rule: 'int4-no-weight', reason: awq ? 'needs a constant weight in input 1 (not 1-D) and a non-constant input 0' : 'has no non-1-D constant input' },
    );
    if (ok) chosen.push(name);
  }
  return { quantizableNodes: chosen, noQuantizeEdges: [], decisions, tensorsToCalibrate: [...new Set(calib)], opTypeCounts, partitions: [], predictedQuantizedNodes: [...chosen].sort(), opset };
}

const initIdx = new WeakMap<GraphProto, Map<string, TensorProto>>();
function initializerIndex(graph: GraphProto): Map<string, TensorProto> {
  let m = initIdx.get(graph);
  if (!m) initIdx.set(graph, (m = new Map(graph.initializer.map((t) => [t.name, t as TensorProto]))));
  return m;
}
const viIdx = new WeakMap<GraphProto, Map<string, ValueInfoProto>>();
function valueInfoIndex(graph: GraphProto): Map<string, ValueInfoProto> {
  let m = viIdx.get(graph);
  if (!m) viIdx.set(graph, (m = new Map(graph.valueInfo.map((v) => [v.name, v as ValueInfoProto]))));
  return m;
}

function matchesAny0(pats: RegExp[], name: string): boolean {
  for (let k = 0; k < pats.length; k++) if (pats[k]!.test(name)) return true;
  return false;
}

/** The decisions in analysis order (an indexed loop: iterating the Int32Array allocated one result object per node). */
function orderedDecisions(order: Int32Array, decisions: (NodeDecision | undefined)[]): NodeDecision[] {
  const out: NodeDecision[] = new Array(order.length);
  for (let k = 0; k < order.length; k++) out[k] = decisions[order[k]!]!;
  return out;
}
