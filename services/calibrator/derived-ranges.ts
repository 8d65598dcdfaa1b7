/**
 * Ranges that follow exactly from another calibrated tensor's range, so that the min/max pass need not reduce
 * them. A tensor t qualifies when it is computed from another requested tensor s through a chain of float32
 * element-wise steps that are non-decreasing and that onnxruntime computes with single IEEE operations:
 * Add/Sub/Mul/Div by a scalar constant (Mul/Div by a positive one; x - c, not c - x), Clip with constant bounds,
 * Relu, and the ops that only move values (Identity, Reshape, Flatten, Squeeze, Unsqueeze, Transpose). For such
 * a chain f, min(t) = f(min(s)) and max(t) = f(max(s)) bit for bit (f is applied to float32 values with one
 * rounding per step, as onnxruntime does), and t has as many elements as s. A nearest-neighbour Resize that
 * enlarges every axis by a whole factor (asymmetric coordinates, constant scales) is a step too: every input
 * value appears in its output and no other value does, so the range is the same and the size is the factor
 * times larger. A source holding NaN or ±Inf makes every tensor derived from it non-finite, so those are
 * fetched and counted exactly like the source.
 *
 * ppocr_det: 27 of graph-analyzer's 144 tensors (hard-swish's Clip(Add(x, 3), 0, 6), and the neck's 2x
 * upsampling), ppocr_rec: 28 of 147; each one saves onnxruntime six nodes to build and three reductions per run.
 */
import type { GraphProto, NodeProto, TensorProto } from '../core/onnx/index.js';
import { attrFloat, attrString, constantNodeValue, onnx, tensorToNumbers } from '../core/onnx/index.js';

/** One step of a chain, applied to a float32 value. */
export type RangeStep = (v: number) => number;

export interface DerivedRange {
  /** the requested tensor whose range this one follows */
  source: string;
  /** steps from the source to this tensor, in order */
  steps: RangeStep[];
  /** this tensor's elements per element of the source (a whole number: 1 but through an upsampling Resize) */
  sizeFactor: number;
}

/** Constants of a graph: one-element float32 ones decoded, and every initializer or Constant output by name. */
export interface GraphConstants {
  scalars: ReadonlyMap<string, number>;
  tensors: ReadonlyMap<string, TensorProto>;
}

/** Ops whose output holds exactly the values of their data input 0. */
export const MOVES: ReadonlySet<string> = new Set(['Identity', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Transpose']);

/** Whether a node is an op of the default ONNX domain (the only ones the range and NaN rules know). */
export const inDefaultDomain = (n: NodeProto): boolean => (n.domain ?? '') === '' || n.domain === 'ai.onnx';
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const f32 = Math.fround;

/** The graph's constants (initializers and Constant node outputs); only one-element float32 ones are decoded. */
export function graphConstants(g: GraphProto): GraphConstants {
  const scalars = new Map<string, number>();
  const tensors = new Map<string, TensorProto>();
  const take = (name: string, t: TensorProto | undefined): void => {
    if (!t) return;
    tensors.set(name, t);
    // one element by its dims before decoding anything (a weight would be decoded whole)
    if (t.dataType !== FLOAT || t.dims.reduce((a: number, d) => a * Number(d), 1) !== 1) return;
    const v = tensorToNumbers(t);
    if (v.length === 1) scalars.set(name, v[0]!);
  };
  for (const t of g.initializer) take(t.name, t);
  for (const n of g.node) if (n.opType === 'Constant' && (n.domain ?? '') === '') take(n.output[0]!, constantNodeValue(n.attribute, n.output[0]!));
  return { scalars, tensors };
}

/**
 * How many times more elements a Resize's output has than its input, when it copies every input value and
 * nothing else: nearest mode, asymmetric coordinates (output index o reads input index floor-or-round(o / k),
 * which is exactly i at o = i * k), constant scales that are whole numbers >= 1 on every axis, no sizes input.
 * Undefined for any other node.
 */
export function wholeUpsampleFactor(node: NodeProto, consts: GraphConstants): number | undefined {
  if (node.opType !== 'Resize' || !inDefaultDomain(node)) return undefined;
  if ((attrString(node, 'mode') ?? 'nearest') !== 'nearest' || attrString(node, 'coordinate_transformation_mode') !== 'asymmetric') return undefined;
  // opset 11+: X, roi, scales, sizes (opset 10's X, scales has no coordinate mode attribute)
  if (node.input.length < 3 || (node.input[3] ?? '') !== '' || !node.input[2]) return undefined;
  const t = consts.tensors.get(node.input[2]);
  if (!t || t.dataType !== FLOAT) return undefined;
  const scales = tensorToNumbers(t);
  if (scales.length === 0 || !scales.every((k) => Number.isInteger(k) && k >= 1)) return undefined;
  return scales.reduce((a, k) => a * k, 1);
}

/**
 * A Clip node's bounds when both are constants: inputs from opset 11 (an empty name: unbounded), attributes
 * before (absent: unbounded); ±Infinity where unbounded.
 */
export function clipBounds(node: NodeProto, consts: GraphConstants): { lo: number; hi: number } | undefined {
  const bound = (k: number, attr: string, dflt: number): number | undefined => {
    if (node.input.length > k) return node.input[k] === '' ? dflt : consts.scalars.get(node.input[k]!);
    return attrFloat(node, attr, dflt);
  };
  const lo = bound(1, 'min', -Infinity);
  const hi = bound(2, 'max', Infinity);
  return lo === undefined || hi === undefined ? undefined : { lo, hi };
}

/** The step `node` applies to its data input, and that input; undefined when the node is not such a step. */
function stepOf(node: NodeProto, consts: GraphConstants): { input: string; step: RangeStep; sizeFactor?: number } | undefined {
  if (!inDefaultDomain(node)) return undefined;
  const [a, b] = node.input;
  const op = node.opType;
  if (MOVES.has(op) && a) return { input: a, step: (v) => v };
  const upsample = wholeUpsampleFactor(node, consts);
  if (upsample !== undefined && a) return { input: a, step: (v) => v, sizeFactor: upsample };
  if (op === 'Relu' && a) return { input: a, step: (v) => (v > 0 ? v : 0) };
  if (op === 'Clip' && a) {
    const bounds = clipBounds(node, consts);
    if (!bounds) return undefined;
    const { lo, hi } = bounds;
    return { input: a, step: (v) => Math.min(Math.max(v, lo), hi) };
  }
  if (node.input.length !== 2 || !a || !b) return undefined;
  const ca = consts.scalars.get(a);
  const cb = consts.scalars.get(b);
  if (op === 'Add' && cb !== undefined) return { input: a, step: (v) => f32(v + cb) };
  if (op === 'Add' && ca !== undefined) return { input: b, step: (v) => f32(ca + v) };
  if (op === 'Sub' && cb !== undefined) return { input: a, step: (v) => f32(v - cb) };
  if (op === 'Mul' && cb !== undefined && cb > 0) return { input: a, step: (v) => f32(v * cb) };
  if (op === 'Mul' && ca !== undefined && ca > 0) return { input: b, step: (v) => f32(ca * v) };
  if (op === 'Div' && cb !== undefined && cb > 0) return { input: a, step: (v) => f32(v / cb) };
  return undefined;
}

/**
 * The requested tensors whose ranges follow from another requested tensor's (see the module comment). Each
 * follows the farthest requested tensor up its chain, which is itself not derived, so every source is reduced.
 */
export function derivableRanges(g: GraphProto, tensors: readonly string[], consts: GraphConstants = graphConstants(g)): Map<string, DerivedRange> {
  const wanted = new Set(tensors);
  const producer = new Map<string, NodeProto>();
  for (const n of g.node) for (const o of n.output) if (o) producer.set(o, n);
  const found = new Map<string, DerivedRange>();
  for (const t of tensors) {
    const steps: RangeStep[] = [];
    let sizeFactor = 1;
    let cur = t;
    // a chain has one data input per step, so it is a path; the bound only stops a malformed cyclic graph
    for (let hops = 0; hops < g.node.length; hops++) {
      const node = producer.get(cur);
      if (!node || node.output.length !== 1) break;
      const s = stepOf(node, consts);
      if (!s) break;
      steps.unshift(s.step);
      sizeFactor *= s.sizeFactor ?? 1;
      cur = s.input;
      if (wanted.has(cur)) found.set(t, { source: cur, steps: [...steps], sizeFactor });
    }
  }
  return found;
}

/** f(min), f(max) of a chain, and whether both stayed finite. */
export function applySteps(steps: readonly RangeStep[], min: number, max: number): { min: number; max: number; finite: boolean } {
  let lo = min;
  let hi = max;
  for (const s of steps) {
    lo = s(lo);
    hi = s(hi);
  }
  return { min: lo, max: hi, finite: Number.isFinite(lo) && Number.isFinite(hi) };
}
