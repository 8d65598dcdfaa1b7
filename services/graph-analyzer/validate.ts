/**
 * Input checks for Prepare and Analyze: supported opset range and known op types. Every failure is an
 * InvalidArgument naming the node.
 */
import type { GraphProto, NodeProto } from '../core/onnx/index.js';
import { NODE_DEFAULT_DOMAIN, NODE_HAS_SUBGRAPH, type AGraph } from './agraph.js';
import { implicitInputs } from '../core/onnx/index.js';
import { InvalidArgument } from '../core/errors.js';

export const MAX_SUPPORTED_OPSET = 21;

/** Every op type of the default ONNX domain (any version up to opset 23). */
export const ONNX_OPS: ReadonlySet<string> = new Set(
  'Abs Acos Acosh Add AffineGrid And ArgMax ArgMin Asin Asinh Atan Atanh Attention AveragePool BatchNormalization Bernoulli BitCast BitShift BitwiseAnd BitwiseNot BitwiseOr BitwiseXor BlackmanWindow Cast CastLike CausalConvWithState Ceil Celu CenterCropPad Clip Col2Im Compress Concat ConcatFromSequence Constant ConstantOfShape Conv ConvInteger ConvTranspose Cos Cosh CumProd CumSum DFT DeformConv DepthToSpace DequantizeLinear Det Div Dropout DynamicQuantizeLinear Einsum Elu Equal Erf Exp Expand EyeLike Flatten Floor GRU Gather GatherElements GatherND Gelu Gemm GlobalAveragePool GlobalLpPool GlobalMaxPool Greater GreaterOrEqual GridSample GroupNormalization HammingWindow HannWindow HardSigmoid HardSwish Hardmax Identity If ImageDecoder InstanceNormalization IsInf IsNaN LRN LSTM LayerNormalization LeakyRelu Less LessOrEqual LinearAttention Log LogSoftmax Loop LpNormalization LpPool MatMul MatMulInteger Max MaxPool MaxRoiPool MaxUnpool Mean MeanVarianceNormalization MelWeightMatrix Min Mish Mod Mul Multinomial Neg NegativeLogLikelihoodLoss NonMaxSuppression NonZero Not OneHot Optional OptionalGetElement OptionalHasElement Or PRelu Pad Pow QLinearConv QLinearMatMul QuantizeLinear RMSNormalization RNN RandomNormal RandomNormalLike RandomUniform RandomUniformLike Range Reciprocal ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean ReduceMin ReduceProd ReduceSum ReduceSumSquare RegexFullMatch Relu Reshape Resize ReverseSequence RoiAlign RotaryEmbedding Round STFT Scan Scatter ScatterElements ScatterND Selu SequenceAt SequenceConstruct SequenceEmpty SequenceErase SequenceInsert SequenceLength SequenceMap Shape Shrink Sigmoid Sign Sin Sinh Size Slice Softmax SoftmaxCrossEntropyLoss Softplus Softsign SpaceToDepth Split SplitToSequence Sqrt Squeeze StringConcat StringNormalizer StringSplit Sub Sum SwiGLU Swish Tan Tanh TensorScatter TfIdfVectorizer ThresholdedRelu Tile TopK Transpose Trilu Unique Unsqueeze Upsample Where Xor'.split(' '),
);

const DEFAULT_DOMAINS = new Set(['', 'ai.onnx']);

const unknownOp = (n: NodeProto): InvalidArgument =>
  new InvalidArgument(`node "${n.name || '(unnamed)'}" has op type "${n.opType}", which is not an ONNX operator and has no custom domain`);

/**
 * Throws for a default-domain node whose op type ONNX does not define (custom domains are accepted). The top
 * graph's nodes are checked from the index's flags and op types; subgraphs by walking them.
 */
export function checkOps(g: AGraph): void {
  const visitNode = (n: NodeProto): void => {
    if (DEFAULT_DOMAINS.has(n.domain ?? '') && !ONNX_OPS.has(n.opType)) throw unknownOp(n);
    visitSubgraphs(n);
  };
  const visitSubgraphs = (n: NodeProto): void => {
    for (const a of n.attribute) {
      if (a.g) for (const m of (a.g as GraphProto).node) visitNode(m);
      for (const sg of a.graphs ?? []) for (const m of (sg as GraphProto).node) visitNode(m);
    }
  };
  for (let i = 0; i < g.size; i++) {
    const f = g.nodeFlags[i]!;
    if (f & NODE_DEFAULT_DOMAIN && !ONNX_OPS.has(g.ops[i]!)) throw unknownOp(g.nodes[i]!);
    if (f & NODE_HAS_SUBGRAPH) visitSubgraphs(g.nodes[i]!);
  }
}

/**
 * Structural checks on the analysis index: unique producers, no reads of unknown tensors (subgraph reads
 * included), every graph output produced, no cycles. Throws InvalidArgument naming the node.
 */
export function validateGraph(g: AGraph): void {
  const graph = g.graph;
  const nodes = graph.node;
  // (tensors named by node inputs/outputs carry their initializer / graph-input flags in the index; the
  // sets are for names the index does not hold: subgraph reads and graph outputs)
  const isSource = (t: string): boolean => g.initializers.has(t) || g.graphInputs.has(t);
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    for (let k = g.outStart[i]!; k < g.outStart[i + 1]!; k++) {
      const id = g.outIds[k]!;
      if (id < 0) continue;
      const o = g.tensorNames[id]!;
      if (g.prodCount[id]! > 1 && g.prodFirst[id] !== i) {
        const prev = nodes[g.prodFirst[id]!]!;
        throw new InvalidArgument(`tensor "${o}" is produced by two nodes: "${prev.name || prev.opType}" and "${n.name || n.opType}"`);
      }
      if (g.isInit[id] || g.isGraphInput[id]) throw new InvalidArgument(`node "${n.name || n.opType}" writes "${o}", which is a graph input or initializer`);
    }
    for (let k = g.inStart[i]!; k < g.inStart[i + 1]!; k++) {
      const id = g.inIds[k]!;
      if (id >= 0 && g.prodCount[id] === 0 && !g.isInit[id] && !g.isGraphInput[id]) {
        throw new InvalidArgument(`node "${n.name || n.opType}" reads "${g.tensorNames[id]}", which no node, input or initializer provides`);
      }
    }
    if (g.nodeFlags[i]! & NODE_HAS_SUBGRAPH) {
      for (const t of implicitInputs(n)) {
        if (t && g.producerCount(t) === 0 && !isSource(t)) throw new InvalidArgument(`node "${n.name || n.opType}" reads "${t}", which no node, input or initializer provides`);
      }
    }
  }
  for (const o of graph.output) {
    if (g.producerCount(o.name) === 0 && !isSource(o.name)) throw new InvalidArgument(`graph output "${o.name}" is never produced`);
  }
  void g.order; // throws on cycles
}

/** Graphs Prepare checked and produced in this process, with the node list it left them with. */
const prepared = new WeakMap<GraphProto, { nodes: NodeProto[]; count: number; index?: AGraph }>();

/** Records a graph Prepare produced, with the analysis index when it still matches the graph. */
export function markPrepared(graph: GraphProto, index?: AGraph): void {
  prepared.set(graph, { nodes: graph.node, count: graph.node.length, index });
}

/** The analysis index Prepare left for this graph (once), if the graph is unchanged since. */
export function takePreparedIndex(graph: GraphProto): AGraph | undefined {
  const p = prepared.get(graph);
  if (!p || !p.index || p.nodes !== graph.node || p.count !== graph.node.length) return undefined;
  const g = p.index;
  p.index = undefined;
  return g;
}

/** Whether the graph comes straight from Prepare (same node list), so its structure is already checked. */
export function isPrepared(graph: GraphProto): boolean {
  const p = prepared.get(graph);
  return !!p && p.nodes === graph.node && p.count === graph.node.length;
}
