/**
 * Ranks of a graph's tensors where they follow from the graph alone: graph inputs, initializers, value_info,
 * and the outputs of ops whose output rank is a plain function of their input ranks (and of constant axes or
 * shapes). Anything else is left out: a caller treats a missing rank as unknown. The min/max pass uses it to
 * cut NCHW activations into per-channel rows that onnxruntime reduces on all its threads.
 */
import type { GraphProto, NodeProto, TensorProto } from '../core/onnx/index.js';
import { attrInt, attrInts, constantNodeValue } from '../core/onnx/index.js';

/** Ops whose output 0 (every output for Split) has the rank of input 0. */
const SAME_AS_FIRST = new Set([
  'Abs', 'AveragePool', 'BatchNormalization', 'Cast', 'Ceil', 'Clip', 'Conv', 'ConvTranspose', 'Cos', 'DepthToSpace',
  'DequantizeLinear', 'Dropout', 'Elu', 'Erf', 'Exp', 'Floor', 'Gelu', 'GlobalAveragePool', 'GlobalLpPool',
  'GlobalMaxPool', 'HardSigmoid', 'HardSwish', 'Identity', 'InstanceNormalization', 'LayerNormalization',
  'LeakyRelu', 'Log', 'LogSoftmax', 'LpNormalization', 'LRN', 'MaxPool', 'Mish', 'Neg', 'Pad', 'QuantizeLinear',
  'Reciprocal', 'Relu', 'Resize', 'Round', 'Selu', 'Sigmoid', 'Sign', 'Sin', 'Slice', 'Softmax', 'Softplus',
  'Softsign', 'SpaceToDepth', 'Split', 'Sqrt', 'Tanh', 'ThresholdedRelu', 'Tile', 'Transpose', 'Upsample',
]);

/** Element-wise ops with multidirectional broadcasting: the output has the largest input rank. */
const BROADCAST = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'PRelu', 'Where', 'Mod']);

const REDUCE = new Set(['ReduceMax', 'ReduceMin', 'ReduceMean', 'ReduceSum', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceSumSquare', 'ReduceLogSumExp']);

/** Length of a 1-D constant (an initializer or a Constant node's value), or undefined. */
function constLength(t: TensorProto | undefined): number | undefined {
  return t && t.dims.length === 1 ? Number(t.dims[0]) : undefined;
}

/** The rank of `node`'s output 0 given the ranks known so far, or undefined. */
function outputRank(node: NodeProto, rank: (t: string) => number | undefined, constant: (t: string) => TensorProto | undefined, opset: number): number | undefined {
  const op = node.opType;
  const r0 = node.input[0] ? rank(node.input[0]) : undefined;
  if (SAME_AS_FIRST.has(op)) return r0;
  if (BROADCAST.has(op)) {
    const rs = node.input.filter((t) => t !== '').map(rank);
    return rs.every((r) => r !== undefined) ? Math.max(...(rs as number[])) : undefined;
  }
  switch (op) {
    case 'Concat':
      return node.input.map(rank).find((r) => r !== undefined);
    case 'Flatten':
    case 'Gemm':
      return 2;
    case 'MatMul': {
      const rb = rank(node.input[1] ?? '');
      if (r0 === undefined || rb === undefined) return undefined;
      if (r0 === 1 && rb === 1) return 0;
      if (r0 === 1) return rb - 1;
      if (rb === 1) return r0 - 1;
      return Math.max(r0, rb);
    }
    case 'Reshape':
      return constLength(constant(node.input[1] ?? ''));
    case 'Unsqueeze': {
      const n = opset >= 13 ? constLength(constant(node.input[1] ?? '')) : attrInts(node, 'axes')?.length;
      return r0 === undefined || n === undefined ? undefined : r0 + n;
    }
    case 'Squeeze': {
      const n = opset >= 13 ? constLength(constant(node.input[1] ?? '')) : attrInts(node, 'axes')?.length;
      return r0 === undefined || n === undefined ? undefined : r0 - n;
    }
    default:
      if (REDUCE.has(op)) {
        if (r0 === undefined) return undefined;
        if (attrInt(node, 'keepdims', 1) !== 0) return r0;
        // axes: an attribute before opset 18 (13 for ReduceSum), an input after; none given reduces every axis
        const asInput = op === 'ReduceSum' ? opset >= 13 : opset >= 18;
        const n = asInput ? (node.input[1] ? constLength(constant(node.input[1])) : 0) : (attrInts(node, 'axes')?.length ?? 0);
        if (n === undefined) return undefined;
        if (n === 0) return asInput && attrInt(node, 'noop_with_empty_axes', 0) !== 0 ? r0 : 0;
        return r0 - n;
      }
      return undefined;
  }
}

/** Known ranks by tensor name (top graph; ops of the default domain only). */
export function knownRanks(g: GraphProto, opset: number): Map<string, number> {
  const ranks = new Map<string, number>();
  const consts = new Map<string, TensorProto>();
  for (const t of g.initializer) {
    consts.set(t.name, t);
    ranks.set(t.name, t.dims.length);
  }
  for (const v of [...g.input, ...g.valueInfo, ...g.output]) {
    const shape = v.type?.tensorType?.shape;
    if (shape && !ranks.has(v.name)) ranks.set(v.name, shape.dim.length);
  }
  for (const n of g.node) {
    if (n.opType === 'Constant' && (n.domain ?? '') === '') {
      const t = constantNodeValue(n.attribute, n.output[0]!);
      if (t) {
        consts.set(n.output[0]!, t);
        ranks.set(n.output[0]!, t.dims.length);
      }
      continue;
    }
    if ((n.domain ?? '') !== '' && n.domain !== 'ai.onnx') continue;
    const r = outputRank(n, (t) => ranks.get(t), (t) => consts.get(t), opset);
    if (r === undefined || r < 0) continue;
    const outs = n.opType === 'Split' ? n.output : n.output.slice(0, 1);
    for (const o of outs) if (o && !ranks.has(o)) ranks.set(o, r);
  }
  return ranks;
}
