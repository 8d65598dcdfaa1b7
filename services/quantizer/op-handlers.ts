/**
 * Which inputs of a selected node get Q/DQ, per op type: onnxruntime's QDQ registry (1.30) as the
 * reference edits it (normalization handler for BatchNormalization/LRN, ConvTranspose handler,
 * HardSwish generic handler, and 17 op types removed).
 */
import type { NodeProto } from '../core/onnx/index.js';
import { attrInt } from '../core/onnx/index.js';

export type HandlerKind =
  | 'conv' // input 0 activation, input 1 weight (per-channel axis 0), bias untouched
  | 'conv-transpose' // input 0 activation, input 1 weight (per-channel axis 1), bias untouched
  | 'gemm' // input 0 activation, input 1 weight (axis 0 if transB else 1), bias untouched
  | 'matmul' // every input: constant -> weight (per-channel axis 1), otherwise activation
  | 'normalization' // input 0 only (reference handler for BatchNormalization, LRN)
  | 'ort-normalization' // input 0, input 1 weight (axis 1) (ORT handler: LayerNormalization)
  | 'first-input' // input 0 only (ORT Direct8Bit ops, MaxPool, GatherElements)
  | 'removable-activation' // input 0 only if an earlier selected node already marked it (Clip)
  | 'all-inputs'; // every input as an activation (ORT base handler: Add, Mul, HardSwish, ...)

/** onnxruntime's handler table after the reference's edits. Types not listed use 'all-inputs'. */
const HANDLERS: Readonly<Record<string, HandlerKind>> = {
  Conv: 'conv',
  ConvTranspose: 'conv-transpose',
  Gemm: 'gemm',
  MatMul: 'matmul',
  BatchNormalization: 'normalization',
  LRN: 'normalization',
  LayerNormalization: 'ort-normalization',
  Clip: 'removable-activation',
  Flatten: 'first-input',
  MaxPool: 'first-input',
  AveragePool: 'first-input',
  Slice: 'first-input',
  TopK: 'first-input',
  GatherElements: 'first-input',
  CumSum: 'all-inputs',
  HardSwish: 'all-inputs',
};

/** Op types the reference removes from both onnxruntime registries. */
export const REMOVED_OP_TYPES: ReadonlySet<string> = new Set([
  'ArgMax', 'Concat', 'EmbedLayerNormalization', 'Gather', 'InstanceNormalization', 'LeakyRelu', 'Pad', 'Relu',
  'Reshape', 'Resize', 'Sigmoid', 'Softmax', 'Split', 'Squeeze', 'Transpose', 'Unsqueeze', 'Where',
]);

/**
 * Op types a selected node may have to be quantized when the user gives no op-type list: the union of
 * onnxruntime 1.30's QLinear and QDQ registry keys after the reference's edits (quantize_static's default).
 */
export const DEFAULT_REGISTRY_OP_TYPES: ReadonlySet<string> = new Set([
  'Add', 'AveragePool', 'BatchNormalization', 'Clip', 'Conv', 'ConvTranspose', 'CumSum', 'Flatten', 'GatherElements',
  'Gemm', 'GlobalAveragePool', 'HardSwish', 'LRN', 'LayerNormalization', 'MatMul', 'MaxPool', 'Mul', 'Slice', 'TopK',
]);

/** The documented default quantizable types of the reference (INT8), pinned. */
export const DEFAULT_INT8_OP_TYPES: readonly string[] = [
  'Add', 'AveragePool', 'BatchNormalization', 'Clip', 'Conv', 'ConvTranspose', 'Gemm', 'GlobalAveragePool', 'HardSwish', 'LRN',
  'MatMul', 'MaxPool', 'Mul',
];
export const DEFAULT_FP8_OP_TYPES: readonly string[] = ['Gemm', 'MatMul', 'Conv'];

export function handlerKind(opType: string): HandlerKind {
  return HANDLERS[opType] ?? 'all-inputs';
}

/** One input the handler wants quantized. */
export interface InputRequest {
  index: number;
  /** 'weight': a constant quantized with weight parameters; 'activation': calibrated (or a constant quantized as an activation). */
  role: 'weight' | 'activation';
  /** Per-channel axis asked for (applied only to constant weights when per-channel is on). */
  axis?: number;
}

/**
 * The inputs of `node` its handler marks for quantization. `alreadyMarked` answers whether an earlier
 * node marked a tensor (onnxruntime's is_tensor_quantized), used by the removable-activation handler.
 */
export function inputRequests(node: NodeProto, isConstant: (t: string) => boolean, alreadyMarked: (t: string) => boolean): InputRequest[] {
  const kind = handlerKind(node.opType);
  const has = (i: number): boolean => i < node.input.length && node.input[i] !== '';
  switch (kind) {
    case 'conv':
      return [...(has(0) ? [{ index: 0, role: 'activation' as const }] : []), ...(has(1) ? [{ index: 1, role: 'weight' as const, axis: 0 }] : [])];
    case 'conv-transpose':
      return [...(has(0) ? [{ index: 0, role: 'activation' as const }] : []), ...(has(1) ? [{ index: 1, role: 'weight' as const, axis: 1 }] : [])];
    case 'gemm': {
      const axis = attrInt(node, 'transB', 0) ? 0 : 1;
      return [...(has(0) ? [{ index: 0, role: 'activation' as const }] : []), ...(has(1) ? [{ index: 1, role: 'weight' as const, axis }] : [])];
    }
    case 'matmul':
      return node.input.flatMap((t, index) => (t ? [isConstant(t) ? { index, role: 'weight' as const, axis: 1 } : { index, role: 'activation' as const }] : []));
    case 'normalization':
    case 'first-input':
      return has(0) ? [{ index: 0, role: 'activation' }] : [];
    case 'ort-normalization':
      return [...(has(0) ? [{ index: 0, role: 'activation' as const }] : []), ...(has(1) ? [{ index: 1, role: 'weight' as const, axis: 1 }] : [])];
    case 'removable-activation':
      return has(0) && alreadyMarked(node.input[0]!) ? [{ index: 0, role: 'activation' }] : [];
    case 'all-inputs':
      return node.input.flatMap((t, index) => (t ? [{ index, role: 'activation' as const }] : []));
  }
}
