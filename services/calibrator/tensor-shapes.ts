/**
 * Concrete shapes of a graph's tensors for given concrete input dims, where they follow from the graph alone:
 * the shape rules of the common ops, with the small integer tensors that shape subgraphs compute
 * (Shape -> Gather/Slice -> Concat -> Reshape) carried as values. A tensor whose shape depends on data, or on an
 * op this module does not know, is left out, and so is everything computed from it: a caller treats a missing
 * shape as unknown (the min/max pass then asks onnxruntime for it at run time).
 *
 * The min/max pass uses the shapes to size every reduction before the first run: it needs no Shape/Cast nodes
 * for a tensor whose shape is known, and it can fix its sessions' batch dimension (both cut onnxruntime's
 * session build, which is most of the pass's cost on small models).
 */
import type { GraphProto, NodeProto, TensorProto } from '../core/onnx/index.js';
import { attrInt, attrInts, attrString, constantNodeValue, onnx, tensorToNumbers } from '../core/onnx/index.js';

export type Shape = readonly number[];

/** Ops whose outputs all have the shape of input 0. */
const SAME_AS_FIRST = new Set([
  'Abs', 'Acos', 'Asin', 'Atan', 'BatchNormalization', 'Cast', 'CastLike', 'Ceil', 'Celu', 'Clip', 'Cos', 'Cosh',
  'DequantizeLinear', 'Dropout', 'Elu', 'Erf', 'Exp', 'Floor', 'Gelu', 'HardSigmoid', 'HardSwish', 'Hardmax',
  'Identity', 'InstanceNormalization', 'IsInf', 'IsNaN', 'LayerNormalization', 'LeakyRelu', 'Log', 'LogSoftmax',
  'LpNormalization', 'LRN', 'Mish', 'Neg', 'Not', 'QuantizeLinear', 'Reciprocal', 'Relu', 'Round', 'Selu', 'Shrink',
  'Sigmoid', 'Sign', 'Sin', 'Sinh', 'Softmax', 'Softplus', 'Softsign', 'Sqrt', 'Tan', 'Tanh', 'ThresholdedRelu',
]);
/** Ops with only output 0 shaped like input 0 (the others are statistics or masks of other shapes). */
const FIRST_OUTPUT_ONLY = new Set(['BatchNormalization', 'Dropout', 'LayerNormalization']);

/** Element-wise ops with multidirectional broadcasting. */
const BROADCAST = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'PRelu', 'Where', 'Mod', 'And', 'Or', 'Xor',
  'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'BitShift',
]);

const REDUCE = new Set(['ReduceMax', 'ReduceMin', 'ReduceMean', 'ReduceSum', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceSumSquare', 'ReduceLogSum', 'ReduceLogSumExp']);

/** Integer tensors up to this many elements are carried as values (shape arithmetic). */
const MAX_VALUE_ELEMENTS = 64;

const INTEGER_TYPES = new Set<number>([
  onnx.TensorProto.DataType.INT64, onnx.TensorProto.DataType.INT32, onnx.TensorProto.DataType.INT16,
  onnx.TensorProto.DataType.INT8, onnx.TensorProto.DataType.UINT8, onnx.TensorProto.DataType.BOOL,
]);
const FLOAT_TYPES = new Set<number>([onnx.TensorProto.DataType.FLOAT, onnx.TensorProto.DataType.DOUBLE, onnx.TensorProto.DataType.FLOAT16]);

/** The number of elements of a shape. */
export const prod = (s: Shape): number => s.reduce((a, b) => a * b, 1);
const axisOf = (a: number, rank: number): number => (a < 0 ? a + rank : a);
const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);

/** numpy-style broadcast of shapes, or undefined where they do not broadcast. */
function broadcast(shapes: Shape[]): number[] | undefined {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const k = s.length - rank + i;
      const x = k < 0 ? 1 : s[k]!;
      if (x === 1) continue;
      if (d !== 1 && d !== x) return undefined;
      d = x;
    }
    out.push(d);
  }
  return out;
}

/** Output sizes of a convolution or pooling window over `spatial`. */
function windowed(node: NodeProto, spatial: Shape, kernel: Shape, ceil: boolean): number[] | undefined {
  const n = spatial.length;
  if (kernel.length !== n) return undefined;
  const strides = attrInts(node, 'strides') ?? new Array<number>(n).fill(1);
  const dil = attrInts(node, 'dilations') ?? new Array<number>(n).fill(1);
  const autoPad = attrString(node, 'auto_pad') ?? 'NOTSET';
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return spatial.map((d, i) => Math.ceil(d / strides[i]!));
  const pads = autoPad === 'VALID' ? new Array<number>(2 * n).fill(0) : (attrInts(node, 'pads') ?? new Array<number>(2 * n).fill(0));
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const span = (kernel[i]! - 1) * dil[i]! + 1;
    const room = spatial[i]! + pads[i]! + pads[i + n]! - span;
    if (room < 0) return undefined;
    let o = (ceil ? Math.ceil(room / strides[i]!) : Math.floor(room / strides[i]!)) + 1;
    // a window that would start inside the end padding is dropped (ceil mode)
    if (ceil && (o - 1) * strides[i]! >= spatial[i]! + pads[i]!) o--;
    out.push(o);
  }
  return out;
}

/**
 * Shapes of the tensors of `g` when its inputs have `inputDims` (concrete; inputs not listed take the dims they
 * declare, where those are all fixed). Only the top graph; tensors inside subgraphs are not covered.
 */
export function inferShapes(g: GraphProto, inputDims: ReadonlyMap<string, Shape>, opset: number): Map<string, Shape> {
  const shapes = new Map<string, Shape>();
  const values = new TensorValues();
  const isFloat = new Set<string>();
  const known: Known = { shapes, values, isFloat };
  const setConst = (name: string, t: TensorProto): void => {
    const dims = t.dims.map(Number);
    shapes.set(name, dims);
    const n = prod(dims);
    if (n <= MAX_VALUE_ELEMENTS && (INTEGER_TYPES.has(t.dataType as number) || FLOAT_TYPES.has(t.dataType as number))) {
      values.setTensor(name, t);
      if (FLOAT_TYPES.has(t.dataType as number)) isFloat.add(name);
    }
  };
  for (const t of g.initializer) setConst(t.name, t);
  for (const i of g.input) {
    if (shapes.has(i.name)) continue;
    const given = inputDims.get(i.name);
    if (given) {
      shapes.set(i.name, [...given]);
      continue;
    }
    const dims = i.type?.tensorType?.shape?.dim;
    if (dims && dims.every((d) => d.dimValue !== undefined && d.dimValue !== null && Number(d.dimValue) > 0 && !d.dimParam)) {
      shapes.set(i.name, dims.map((d) => Number(d.dimValue)));
    }
  }
  for (const node of g.node) {
    if ((node.domain ?? '') !== '' && node.domain !== 'ai.onnx') continue;
    if (node.opType === 'Constant') {
      const t = constantNodeValue(node.attribute, node.output[0]!);
      if (t) setConst(node.output[0]!, t);
      continue;
    }
    const out = outputShapes(node, known, opset);
    if (!out) continue;
    out.shapes.forEach((s, k) => {
      const o = node.output[k];
      if (o && s) shapes.set(o, s);
    });
    if (out.value && node.output[0] && out.value.length <= MAX_VALUE_ELEMENTS) values.set(node.output[0], out.value);
  }
  return shapes;
}

interface NodeShapes {
  shapes: (Shape | undefined)[];
  /** output 0's integer values, where they are known */
  value?: number[];
}

/**
 * The values of small tensors, constants decoded only when a rule asks for them: most small constants are
 * biases and normalisation parameters that no shape rule reads (ppocr_cls: ~4.6 ms of a cold job decoding them).
 */
class TensorValues {
  private readonly decoded = new Map<string, number[]>();
  private readonly constants = new Map<string, TensorProto>();
  get(name: string): number[] | undefined {
    const v = this.decoded.get(name);
    if (v !== undefined) return v;
    const t = this.constants.get(name);
    if (t === undefined) return undefined;
    const d = tensorToNumbers(t);
    this.decoded.set(name, d);
    return d;
  }
  set(name: string, v: number[]): void {
    this.constants.delete(name);
    this.decoded.set(name, v);
  }
  setTensor(name: string, t: TensorProto): void {
    this.decoded.delete(name);
    this.constants.set(name, t);
  }
}

/** What the pass knows so far: shapes, the integer values of small tensors, and which values are floats. */
interface Known {
  shapes: ReadonlyMap<string, Shape>;
  values: { get(name: string): number[] | undefined };
  isFloat: ReadonlySet<string>;
}

// module-level helpers, not closures per node (tsx names every closure it creates, which costs more than the rules)
function inShape(k: Known, node: NodeProto, i: number): Shape | undefined {
  const t = node.input[i];
  return t ? k.shapes.get(t) : undefined;
}
function inValue(k: Known, node: NodeProto, i: number): number[] | undefined {
  const t = node.input[i];
  return t ? k.values.get(t) : undefined;
}
function intValue(k: Known, node: NodeProto, i: number): number[] | undefined {
  const t = node.input[i];
  return t && !k.isFloat.has(t) ? k.values.get(t) : undefined;
}
function one(s: Shape | undefined, value?: number[]): NodeShapes | undefined {
  return s ? { shapes: [s], value } : undefined;
}

function outputShapes(node: NodeProto, known: Known, opset: number): NodeShapes | undefined {
  const op = node.opType;
  const x = inShape(known, node, 0);
  if (SAME_AS_FIRST.has(op)) {
    if (!x) return undefined;
    const v = op === 'Cast' || op === 'Identity' ? intValue(known, node, 0) : undefined;
    if (op === 'Cast' && v) {
      // a cast to a float type leaves the shape arithmetic
      const to = attrInt(node, 'to', 0);
      if (!INTEGER_TYPES.has(to)) return one(x);
    }
    return { shapes: FIRST_OUTPUT_ONLY.has(op) ? [x] : node.output.map(() => x), value: v };
  }
  if (BROADCAST.has(op)) {
    const ins = node.input.filter((t) => t !== '').map((t) => known.shapes.get(t));
    if (ins.some((s) => s === undefined)) return undefined;
    const s = broadcast(ins as Shape[]);
    if (!s) return undefined;
    return one(s, elementwiseValue(op, node, known.values, known.isFloat, s));
  }
  if (REDUCE.has(op) || op === 'ArgMax' || op === 'ArgMin') {
    if (!x) return undefined;
    const keep = attrInt(node, 'keepdims', 1) === 1;
    let axes: number[] | undefined;
    if (op === 'ArgMax' || op === 'ArgMin') axes = [attrInt(node, 'axis', 0)];
    else if ((op === 'ReduceSum' && opset >= 13) || opset >= 18) {
      axes = node.input[1] ? intValue(known, node, 1) : [];
      if (!axes) return undefined;
      if (axes.length === 0 && attrInt(node, 'noop_with_empty_axes', 0) === 1) return one(x);
    } else axes = attrInts(node, 'axes') ?? [];
    const set = new Set((axes.length ? axes : x.map((_, i) => i)).map((a) => axisOf(a, x.length)));
    return one(keep ? x.map((d, i) => (set.has(i) ? 1 : d)) : x.filter((_, i) => !set.has(i)));
  }
  switch (op) {
    case 'Conv':
    case 'ConvInteger': {
      const w = inShape(known, node, 1);
      if (!x || !w || x.length < 3) return undefined;
      const kernel = attrInts(node, 'kernel_shape') ?? w.slice(2);
      const sp = windowed(node, x.slice(2), kernel, false);
      return sp && one([x[0]!, w[0]!, ...sp]);
    }
    case 'ConvTranspose': {
      const w = inShape(known, node, 1);
      if (!x || !w || x.length < 3) return undefined;
      const n = x.length - 2;
      const kernel = attrInts(node, 'kernel_shape') ?? w.slice(2);
      const channels = w[1]! * attrInt(node, 'group', 1);
      const given = attrInts(node, 'output_shape');
      if (given) return one([x[0]!, channels, ...given.slice(-n)]);
      const strides = attrInts(node, 'strides') ?? new Array<number>(n).fill(1);
      const dil = attrInts(node, 'dilations') ?? new Array<number>(n).fill(1);
      const outPad = attrInts(node, 'output_padding') ?? new Array<number>(n).fill(0);
      const autoPad = attrString(node, 'auto_pad') ?? 'NOTSET';
      if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return one([x[0]!, channels, ...x.slice(2).map((d, i) => d * strides[i]!)]);
      const pads = autoPad === 'VALID' ? new Array<number>(2 * n).fill(0) : (attrInts(node, 'pads') ?? new Array<number>(2 * n).fill(0));
      const sp = x.slice(2).map((d, i) => strides[i]! * (d - 1) + outPad[i]! + (kernel[i]! - 1) * dil[i]! + 1 - pads[i]! - pads[i + n]!);
      return sp.every((d) => d > 0) ? one([x[0]!, channels, ...sp]) : undefined;
    }
    case 'MaxPool':
    case 'AveragePool':
    case 'LpPool': {
      const kernel = attrInts(node, 'kernel_shape');
      if (!x || !kernel || x.length < 3) return undefined;
      const sp = windowed(node, x.slice(2), kernel, attrInt(node, 'ceil_mode', 0) === 1);
      if (!sp) return undefined;
      const s = [x[0]!, x[1]!, ...sp];
      return { shapes: node.output.map(() => s) };
    }
    case 'GlobalAveragePool':
    case 'GlobalMaxPool':
    case 'GlobalLpPool':
      return x && x.length >= 3 ? one([x[0]!, x[1]!, ...x.slice(2).map(() => 1)]) : undefined;
    case 'Flatten': {
      if (!x) return undefined;
      const a = axisOf(attrInt(node, 'axis', 1), x.length);
      return one([prod(x.slice(0, a)), prod(x.slice(a))], intValue(known, node, 0));
    }
    case 'Reshape': {
      const spec = intValue(known, node, 1);
      if (!x || !spec) return undefined;
      const allowZero = attrInt(node, 'allowzero', 0) === 1;
      const s = spec.map((d, i) => (d === 0 && !allowZero ? x[i]! : d));
      const fixed = s.filter((d) => d !== -1);
      if (s.length - fixed.length > 1 || fixed.some((d) => d === undefined || d < 0)) return undefined;
      const total = prod(x);
      if (s.includes(-1)) {
        const rest = prod(fixed);
        if (rest === 0 || total % rest !== 0) return undefined;
        s[s.indexOf(-1)] = total / rest;
      } else if (prod(s) !== total) return undefined;
      return one(s, intValue(known, node, 0));
    }
    case 'Squeeze': {
      if (!x) return undefined;
      if (opset >= 13 && node.input[1] && !intValue(known, node, 1)) return undefined;
      const axes = opset >= 13 ? (node.input[1] ? intValue(known, node, 1) : undefined) : attrInts(node, 'axes');
      const set = axes ? new Set(axes.map((a) => axisOf(a, x.length))) : new Set(x.flatMap((d, i) => (d === 1 ? [i] : [])));
      if ([...set].some((a) => x[a] !== 1)) return undefined;
      return one(x.filter((_, i) => !set.has(i)), intValue(known, node, 0));
    }
    case 'Unsqueeze': {
      if (!x) return undefined;
      const axes = opset >= 13 ? intValue(known, node, 1) : attrInts(node, 'axes');
      if (!axes) return undefined;
      const rank = x.length + axes.length;
      const set = new Set(axes.map((a) => axisOf(a, rank)));
      const s: number[] = [];
      let k = 0;
      for (let i = 0; i < rank; i++) s.push(set.has(i) ? 1 : x[k++]!);
      return one(s, intValue(known, node, 0));
    }
    case 'Transpose': {
      if (!x) return undefined;
      const perm = attrInts(node, 'perm') ?? x.map((_, i) => x.length - 1 - i);
      return one(perm.map((p) => x[p]!));
    }
    case 'Concat': {
      const ins = node.input.map((t) => known.shapes.get(t));
      if (ins.some((s) => s === undefined)) return undefined;
      const all = ins as Shape[];
      const a = axisOf(attrInt(node, 'axis', 0), all[0]!.length);
      const s = [...all[0]!];
      s[a] = all.reduce((acc, t) => acc + t[a]!, 0);
      const vs = node.input.map((t) => (known.isFloat.has(t) ? undefined : known.values.get(t)));
      return one(s, s.length === 1 && vs.every((v) => v !== undefined) ? (vs as number[][]).flat() : undefined);
    }
    case 'Split': {
      if (!x) return undefined;
      const a = axisOf(attrInt(node, 'axis', 0), x.length);
      let split = opset >= 13 ? (node.input[1] ? intValue(known, node, 1) : undefined) : attrInts(node, 'split');
      if (!split) {
        const n = node.output.length;
        const size = Math.ceil(x[a]! / n);
        split = node.output.map((_, k) => Math.max(0, Math.min(size, x[a]! - k * size)));
      }
      if (split.length !== node.output.length) return undefined;
      return { shapes: split.map((d) => x.map((v, i) => (i === a ? d : v))) };
    }
    case 'Slice': {
      if (!x) return undefined;
      const starts = opset >= 10 ? intValue(known, node, 1) : attrInts(node, 'starts');
      const ends = opset >= 10 ? intValue(known, node, 2) : attrInts(node, 'ends');
      if (!starts || !ends) return undefined;
      const axes = (opset >= 10 ? (node.input[3] ? intValue(known, node, 3) : undefined) : attrInts(node, 'axes')) ?? starts.map((_, i) => i);
      const steps = (opset >= 10 && node.input[4] ? intValue(known, node, 4) : undefined) ?? starts.map(() => 1);
      if ((opset >= 10 && node.input[3] && !intValue(known, node, 3)) || (node.input[4] && !intValue(known, node, 4))) return undefined;
      const s = [...x];
      const picks: [number, number, number][] = [];
      for (let k = 0; k < starts.length; k++) {
        const a = axisOf(axes[k]!, x.length);
        const d = x[a]!;
        const step = steps[k]!;
        if (step === 0) return undefined;
        let b = starts[k]! < 0 ? starts[k]! + d : starts[k]!;
        let e = ends[k]! < 0 ? ends[k]! + d : ends[k]!;
        if (step > 0) {
          b = clamp(b, 0, d);
          e = clamp(e, 0, d);
          s[a] = Math.max(0, Math.ceil((e - b) / step));
        } else {
          b = clamp(b, 0, d - 1);
          e = clamp(e, -1, d - 1);
          s[a] = Math.max(0, Math.ceil((b - e) / -step));
        }
        picks.push([b, step, s[a]!]);
      }
      const v = intValue(known, node, 0);
      const value = v && x.length === 1 && picks.length === 1 ? Array.from({ length: picks[0]![2] }, (_, i) => v[picks[0]![0] + i * picks[0]![1]]!) : undefined;
      return one(s, value);
    }
    case 'Gather': {
      const idx = inShape(known, node, 1);
      if (!x || !idx) return undefined;
      const a = axisOf(attrInt(node, 'axis', 0), x.length);
      const s = [...x.slice(0, a), ...idx, ...x.slice(a + 1)];
      const v = intValue(known, node, 0);
      const iv = intValue(known, node, 1);
      const value = v && iv && x.length === 1 ? iv.map((i) => v[i < 0 ? i + x[0]! : i]!) : undefined;
      return one(s, value);
    }
    case 'MatMul':
    case 'MatMulInteger': {
      const b = inShape(known, node, 1);
      if (!x || !b) return undefined;
      const a2 = x.length === 1 ? [1, x[0]!] : x;
      const b2 = b.length === 1 ? [b[0]!, 1] : b;
      if (a2[a2.length - 1] !== b2[b2.length - 2]) return undefined;
      const batch = broadcast([a2.slice(0, -2), b2.slice(0, -2)]);
      if (!batch) return undefined;
      const s = [...batch, ...(x.length === 1 ? [] : [a2[a2.length - 2]!]), ...(b.length === 1 ? [] : [b2[b2.length - 1]!])];
      return one(s);
    }
    case 'Gemm': {
      const b = inShape(known, node, 1);
      if (!x || !b || x.length !== 2 || b.length !== 2) return undefined;
      const m = attrInt(node, 'transA', 0) ? x[1]! : x[0]!;
      const n = attrInt(node, 'transB', 0) ? b[0]! : b[1]!;
      return one([m, n]);
    }
    case 'Resize':
    case 'Upsample': {
      if (!x || attrInts(node, 'axes') !== undefined || (attrString(node, 'keep_aspect_ratio_policy') ?? 'stretch') !== 'stretch') return undefined;
      // Resize: (X, roi, scales, sizes) from opset 11, (X, scales) before; Upsample: (X, scales) or a scales attribute
      const scalesAt = op === 'Resize' && opset >= 11 ? 2 : 1;
      const sizes = op === 'Resize' && opset >= 11 && node.input[3] ? inValue(known, node, 3) : undefined;
      if (sizes && sizes.length === x.length) return one(sizes);
      const scales = node.input[scalesAt] ? inValue(known, node, scalesAt) : op === 'Upsample' ? getFloats(node, 'scales') : undefined;
      if (!scales || scales.length !== x.length) return undefined;
      // onnxruntime multiplies in float32 and truncates
      return one(x.map((d, i) => Math.trunc(Math.fround(Math.fround(scales[i]!) * Math.fround(d)))));
    }
    case 'Pad': {
      if (!x) return undefined;
      const pads = opset >= 11 ? intValue(known, node, 1) : attrInts(node, 'pads');
      if (!pads || pads.length !== 2 * x.length || node.input[3]) return undefined;
      return one(x.map((d, i) => d + pads[i]! + pads[i + x.length]!));
    }
    case 'Expand': {
      const to = intValue(known, node, 1);
      if (!x || !to) return undefined;
      return one(broadcast([x, to]));
    }
    case 'Tile': {
      const reps = intValue(known, node, 1);
      if (!x || !reps || reps.length !== x.length) return undefined;
      return one(x.map((d, i) => d * reps[i]!));
    }
    case 'Shape': {
      if (!x) return undefined;
      const r = x.length;
      const start = Math.min(Math.max(axisOf(attrInt(node, 'start', 0), r), 0), r);
      const end = Math.min(Math.max(axisOf(attrInt(node, 'end', r), r), 0), r);
      const v = x.slice(start, Math.max(start, end));
      return one([v.length], [...v]);
    }
    case 'Size':
      return x ? one([], [prod(x)]) : undefined;
    case 'ConstantOfShape': {
      const to = intValue(known, node, 0);
      if (!to) return undefined;
      // the fill value (float 0 by default) is carried where it is an integer (shape arithmetic)
      const fill = constantNodeValue(node.attribute, node.output[0]!);
      const n = prod(to);
      const value = fill && INTEGER_TYPES.has(fill.dataType as number) && n <= MAX_VALUE_ELEMENTS ? new Array<number>(n).fill(tensorToNumbers(fill)[0]!) : undefined;
      return one(to, value);
    }
    case 'Range': {
      const [s, l, d] = [inValue(known, node, 0), inValue(known, node, 1), inValue(known, node, 2)];
      if (!s || !l || !d || d[0] === 0) return undefined;
      return one([Math.max(Math.ceil((l[0]! - s[0]!) / d[0]!), 0)]);
    }
    case 'DepthToSpace': {
      const b = attrInt(node, 'blocksize', 0);
      return x && x.length === 4 && b > 0 ? one([x[0]!, x[1]! / (b * b), x[2]! * b, x[3]! * b]) : undefined;
    }
    case 'SpaceToDepth': {
      const b = attrInt(node, 'blocksize', 0);
      return x && x.length === 4 && b > 0 ? one([x[0]!, x[1]! * b * b, x[2]! / b, x[3]! / b]) : undefined;
    }
    default:
      return undefined;
  }
}

function getFloats(node: NodeProto, name: string): number[] | undefined {
  const a = node.attribute.find((t) => t.name === name);
  return a ? [...a.floats] : undefined;
}

const INT_OPS: Record<string, (...v: number[]) => number> = {
  Add: (p, q) => p + q,
  Sub: (p, q) => p - q,
  Mul: (p, q) => p * q,
  Div: (p, q) => Math.trunc(p / q),
  Max: (...v) => Math.max(...v),
  Min: (...v) => Math.min(...v),
  Equal: (p, q) => Number(p === q),
  Less: (p, q) => Number(p < q),
  Greater: (p, q) => Number(p > q),
  LessOrEqual: (p, q) => Number(p <= q),
  GreaterOrEqual: (p, q) => Number(p >= q),
  And: (p, q) => Number(p !== 0 && q !== 0),
  Or: (p, q) => Number(p !== 0 || q !== 0),
  Where: (c, p, q) => (c !== 0 ? p : q),
};

/** The integer values of an element-wise op's output where its inputs' values are known (shape arithmetic). */
function elementwiseValue(op: string, node: NodeProto, values: Known['values'], isFloat: ReadonlySet<string>, s: Shape): number[] | undefined {
  const f = INT_OPS[op];
  if (!f || s.length > 1) return undefined;
  const ins = node.input.filter((t) => t !== '');
  // Where's condition is boolean; its branches, like every other input, must be integers
  if (ins.some((t, k) => isFloat.has(t) && !(op === 'Where' && k === 0))) return undefined;
  const vs = ins.map((t) => values.get(t));
  if (vs.some((v) => v === undefined)) return undefined;
  const n = s.length === 0 ? 1 : s[0]!;
  return Array.from({ length: n }, (_, i) => f(...(vs as number[][]).map((v) => v[v.length === 1 ? 0 : i]!)));
}
