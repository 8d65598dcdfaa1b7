/**
 * Op taxonomy used by the QDQ placement rules (SPEC §1). Matched on the exact op-type string.
 */
const set = (xs: string[]): ReadonlySet<string> => new Set(xs);

/** Unary pointwise ops. Relu and BatchNormalization are deliberately absent. */
export const UNARY_OPS = set([
  'Neg', 'Sqrt', 'Abs', 'Log', 'Exp', 'Not', 'Cast', 'Floor', 'Ceil', 'Round', 'Erf', 'Gelu', 'Sin', 'Cos', 'Atan', 'Sign',
  'IsNaN', 'IsInf', 'LeakyRelu', 'Elu', 'Tanh', 'Sigmoid', 'Softmax', 'Softplus', 'InstanceNormalization', 'CumSum',
]);
export const BINARY_OPS = set([
  'Add', 'Sub', 'Mul', 'Pow', 'Div', 'Min', 'Max', 'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual', 'Equal',
  'BitwiseOr', 'BitwiseAnd', 'BitwiseXor', 'BitShift',
]);
export const LINEAR_OPS = set(['Conv', 'Gemm', 'MatMul']);
/** Data-movement ops. Unsqueeze is not one. */
export const COPY_OPS = set([
  'Flatten', 'Transpose', 'Concat', 'Split', 'Squeeze', 'Expand', 'ReverseSequence', 'Reshape', 'Tile', 'Gather', 'Slice',
  'GatherElements', 'GatherND', 'ScatterElements', 'ScatterND', 'OneHot',
]);
export const POOLING_OR_WINDOW_OPS = set([
  'AveragePool', 'GlobalAveragePool', 'MaxPool', 'GlobalMaxPool', 'GlobalLpPool', 'LpPool', 'MaxPoolGridSample',
  'HammingWindow', 'BlackmanWindow', 'HannWindow',
]);
export const NORMALIZATION_OPS = set([
  'BatchNormalization', 'InstanceNormalization', 'LRN', 'LpNormalization', 'GroupNormalization', 'LayerNormalization',
]);

export const isUnary = (op: string): boolean => UNARY_OPS.has(op);
export const isBinary = (op: string): boolean => BINARY_OPS.has(op);
export const isPointwise = (op: string): boolean => UNARY_OPS.has(op) || BINARY_OPS.has(op);
export const isLinear = (op: string): boolean => LINEAR_OPS.has(op);
export const isCopy = (op: string): boolean => COPY_OPS.has(op);
export const isPoolingOrWindow = (op: string): boolean => POOLING_OR_WINDOW_OPS.has(op);
export const isNormalization = (op: string): boolean => NORMALIZATION_OPS.has(op);

/** The 27 op types ONNX Runtime quantizes by default (reference list, SPEC §1). */
export const ORT_DEFAULT_QUANTIZABLE = [
  'Conv', 'Gemm', 'ArgMax', 'Relu', 'Split', 'MaxPool', 'InstanceNormalization', 'Softmax', 'Where', 'Squeeze',
  'GlobalAveragePool', 'Pad', 'Resize', 'ConvTranspose', 'Gather', 'Sigmoid', 'EmbedLayerNormalization', 'Reshape',
  'Unsqueeze', 'Transpose', 'MatMul', 'Concat', 'Mul', 'Clip', 'Add', 'LeakyRelu', 'AveragePool',
] as const;

/**
 * Default quantizable op types per mode (SPEC §3 step 3, pinned): INT8 gets the documented list plus the two
 * registrations (LRN, HardSwish); FP8 Gemm/MatMul/Conv; INT4 Gemm/MatMul.
 */
export const INT8_DEFAULT_OP_TYPES: readonly string[] = [
  'Add', 'AveragePool', 'BatchNormalization', 'Clip', 'Conv', 'ConvTranspose', 'Gemm', 'GlobalAveragePool', 'MatMul',
  'MaxPool', 'Mul', 'LRN', 'HardSwish',
];
export const FP8_DEFAULT_OP_TYPES: readonly string[] = ['Gemm', 'MatMul', 'Conv'];
export const INT4_DEFAULT_OP_TYPES: readonly string[] = ['Gemm', 'MatMul'];

/**
 * What the reference computed at run time on onnxruntime 1.30 (the goldens' runtime): the union of ORT's QDQ and
 * QLinear registries after the reference's edits. ORT 1.30 registers Flatten, Slice, GatherElements, CumSum, TopK
 * and LayerNormalization in addition to the pinned list. Used only to reproduce the goldens (docs/compatibility.md).
 */
export const INT8_ORT130_OP_TYPES: readonly string[] = [
  ...INT8_DEFAULT_OP_TYPES, 'Flatten', 'Slice', 'GatherElements', 'CumSum', 'TopK', 'LayerNormalization',
];

export function defaultQuantizableOpTypes(mode: string): readonly string[] {
  if (mode === 'fp8') return FP8_DEFAULT_OP_TYPES;
  if (mode.startsWith('int4')) return INT4_DEFAULT_OP_TYPES;
  return INT8_DEFAULT_OP_TYPES;
}
