/**
 * Which calibrated tensors need their own NaN check. The min/max pass reduces each tensor three times: min,
 * max, and a sum whose only use is to see NaN (which onnxruntime's ReduceMin/ReduceMax skip). Two rules let
 * most tensors go without the sum:
 *
 * Witnesses (nanChecks). A tensor whose every element is read into a later reduced tensor through steps that
 * keep NaN (moves, element-wise arithmetic, convolutions that read every input, matrix products, batch
 * normalisation, global averages, nearest whole-factor upsampling) holds NaN only if that later tensor does:
 * the later one's sums answer for both. A squeeze-excitation block's global average ([N, C, 1, 1]) answers
 * for the whole activation it averages. NaN injected into every such tensor of ppocr_det, ppocr_rec and
 * ppocr_cls (first, last and a random element; 703 onnxruntime-node sessions at level all, and 1,029 more
 * with Python onnxruntime 1.30 before squeeze-excitation products were derived) showed every time:
 * test/checks/nan-witnesses.ts.
 *
 * Sources (nanFreeConditions). A tensor computed from already-reduced tensors through steps that make no NaN
 * out of finite operands: at run time it is finite when its own min and max are finite and every tensor it
 * depends on was found finite. The steps are IEEE facts, not properties of one implementation:
 * - a sum or difference of two finite values, or of a non-NaN value and a finite one, is never NaN (NaN needs
 *   Inf - Inf); a product of finite values, or of a non-NaN value and a finite non-zero one, is never NaN
 *   (NaN needs 0 * Inf); a non-NaN value divided by a finite non-zero constant is never NaN;
 * - Relu, Clip with constant bounds, max-pooling, nearest resizing and the ops that only move values
 *   (Reshape, Transpose, Concat, Split, Slice, ...) make no NaN from non-NaN values, and all but max-pooling
 *   (a window over padding alone may give -Inf) keep finite values finite; Clip with two finite bounds makes
 *   any non-NaN value finite;
 * - Sigmoid, Tanh and HardSigmoid of finite values are finite.
 * Convolutions, matrix products, normalisations and averages are not such steps (an accumulation can
 * overflow both ways and give Inf - Inf).
 *
 * Sums kept: ppocr_det 27 of the 103 tensors it reduces, ppocr_rec 16 of 117, ppocr_cls 26 of 90 (with the
 * second rule alone: 75 of 117, 79 of 119, 65 of 99); most of those left are small (global averages, their
 * Relu and HardSigmoid).
 */
import type { GraphProto, NodeProto } from '../core/onnx/index.js';
import { attrFloat, attrInts, attrString } from '../core/onnx/index.js';
import { clipBounds, graphConstants, inDefaultDomain, MOVES, wholeUpsampleFactor, type GraphConstants } from './derived-ranges.js';

/** Tensors that must all be finite, or null where nothing is known. */
type Condition = ReadonlySet<string> | null;

interface Facts {
  /** the tensor holds no NaN when these are finite */
  noNaN: Condition;
  /** the tensor holds no NaN and no ±Inf when these are finite */
  finite: Condition;
}

const UNKNOWN: Facts = { noNaN: null, finite: null };
const ALWAYS: Facts = { noNaN: new Set(), finite: new Set() };

/** Ops whose output values are their data inputs' values (Relu: or 0): Concat reads every input, the others input 0. */
const PASS_THROUGH = new Set(['Identity', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Transpose', 'Relu', 'Split', 'Slice', 'Concat']);

/** Max-pooling: no NaN from non-NaN values, but a window over padding alone (ceil_mode) may give -Inf. */
const MAX_POOLS = new Set(['MaxPool', 'GlobalMaxPool']);

function union(...conds: Condition[]): Condition {
  if (conds.some((c) => c === null)) return null;
  const out = new Set<string>();
  for (const c of conds) for (const t of c!) out.add(t);
  return out;
}

function factsOf(node: NodeProto, facts: (t: string) => Facts, consts: GraphConstants): Facts {
  if (!inDefaultDomain(node)) return UNKNOWN;
  const op = node.opType;
  const [a, b] = node.input;
  if (!a) return UNKNOWN;
  const fa = facts(a);
  if (PASS_THROUGH.has(op)) {
    const ins = op === 'Concat' ? node.input.filter((t) => t !== '').map(facts) : [fa];
    return { noNaN: union(...ins.map((f) => f.noNaN)), finite: union(...ins.map((f) => f.finite)) };
  }
  if (MAX_POOLS.has(op)) return { noNaN: fa.noNaN, finite: null };
  if (op === 'Resize' || op === 'Upsample') {
    // nearest copies input values; tf_crop_and_resize may write its extrapolation value, which may be anything
    const copies = (attrString(node, 'mode') ?? 'nearest') === 'nearest' && attrString(node, 'coordinate_transformation_mode') !== 'tf_crop_and_resize';
    return copies ? fa : UNKNOWN;
  }
  if (op === 'Clip') {
    const bounds = clipBounds(node, consts);
    if (!bounds || Number.isNaN(bounds.lo) || Number.isNaN(bounds.hi)) return UNKNOWN;
    const bounded = Number.isFinite(bounds.lo) && Number.isFinite(bounds.hi);
    return { noNaN: fa.noNaN, finite: bounded ? fa.noNaN : fa.finite };
  }
  if (op === 'Sigmoid' || op === 'Tanh' || op === 'HardSigmoid') return { noNaN: fa.finite, finite: fa.finite };
  if (!b || node.input.length !== 2) return UNKNOWN;
  const fb = facts(b);
  const cb = consts.scalars.get(b);
  const nonZeroConst = (c: number | undefined) => c !== undefined && Number.isFinite(c) && c !== 0;
  switch (op) {
    case 'Add':
    case 'Sub':
      // finite + finite, or non-NaN + finite
      return { noNaN: fb.finite !== null ? union(fa.noNaN, fb.finite) : union(fa.finite, fb.noNaN), finite: null };
    case 'Mul':
      if (nonZeroConst(cb)) return { noNaN: fa.noNaN, finite: null };
      if (nonZeroConst(consts.scalars.get(a))) return { noNaN: fb.noNaN, finite: null };
      return { noNaN: union(fa.finite, fb.finite), finite: null };
    case 'Div':
      return { noNaN: nonZeroConst(cb) ? fa.noNaN : null, finite: null };
    default:
      return UNKNOWN;
  }
}

/**
 * For each of `reduced` (tensors whose min and max the pass reduces, each found finite or not at run time)
 * that cannot hold NaN while some others of them are finite: those others (never the tensor itself, always
 * computed before it). The rest need their NaN check.
 */
export function nanFreeConditions(g: GraphProto, reduced: readonly string[], consts: GraphConstants = graphConstants(g)): Map<string, ReadonlySet<string>> {
  const sources = new Set(reduced);
  const known = new Map<string, Facts>();
  for (const [name, v] of consts.scalars) known.set(name, Number.isFinite(v) ? ALWAYS : UNKNOWN);
  // a reduced tensor, read by a later node, is known finite or not at run time
  const facts = (t: string): Facts => (sources.has(t) ? { noNaN: new Set([t]), finite: new Set([t]) } : (known.get(t) ?? UNKNOWN));
  const out = new Map<string, ReadonlySet<string>>();
  for (const n of g.node) {
    if (n.opType === 'Constant' && (n.domain ?? '') === '') continue; // scalar ones are in `known` already
    const f = factsOf(n, facts, consts);
    const outs = n.opType === 'Split' ? n.output : n.output.slice(0, 1);
    for (const o of outs) {
      if (!o) continue;
      known.set(o, f);
      if (sources.has(o) && f.noNaN !== null && !f.noNaN.has(o)) out.set(o, f.noNaN);
    }
  }
  return out;
}

/** How the min/max pass learns, per run, whether a reduced tensor held NaN. */
export type NanCheck =
  /** its own row sums (ReduceMin/ReduceMax skip NaN; a sum does not) */
  | { kind: 'sum' }
  /** a later reduced tensor with its own sums, which holds NaN whenever this one does (carriesNaN) */
  | { kind: 'witness'; witness: string }
  /** none can arise while these earlier reduced tensors are finite (nanFreeConditions) */
  | { kind: 'sources'; sources: ReadonlySet<string> };

/** Element-wise arithmetic, broadcasting included: a NaN operand makes each output it is read into NaN. */
const ARITHMETIC = new Set(['Add', 'Sub', 'Mul', 'Div', 'Sum', 'Mean']);

/**
 * Whether a convolution reads every element of its input X into some output (a NaN there then makes that
 * output a NaN: NaN times any weight, zero included, is NaN): no dilation, and on every axis a stride of 1, or
 * a stride no longer than the kernel with enough end padding (or SAME padding) that the last window reaches
 * the last element.
 */
function convReadsEveryInput(node: NodeProto, consts: GraphConstants): boolean {
  const kernel = attrInts(node, 'kernel_shape') ?? consts.tensors.get(node.input[1] ?? '')?.dims.slice(2).map(Number);
  if (!kernel || kernel.length === 0) return false;
  const n = kernel.length;
  const strides = attrInts(node, 'strides') ?? new Array<number>(n).fill(1);
  const dilations = attrInts(node, 'dilations') ?? new Array<number>(n).fill(1);
  const autoPad = attrString(node, 'auto_pad') ?? 'NOTSET';
  const pads = attrInts(node, 'pads') ?? new Array<number>(2 * n).fill(0);
  for (let i = 0; i < n; i++) {
    const s = strides[i] ?? 1;
    if ((dilations[i] ?? 1) !== 1) return false;
    if (s === 1) continue;
    if (s > kernel[i]!) return false;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') continue;
    if (autoPad !== 'NOTSET' || (pads[n + i] ?? 0) < s - 1) return false;
  }
  return true;
}

/**
 * Whether every element of input k of `node` is read into its (one) output by steps that keep NaN: moves,
 * element-wise arithmetic (NaN op anything is NaN), sums of products (convolutions that read every input,
 * matrix products, batch normalisation, global averages) and nearest whole-factor upsampling. Not: Relu, Clip,
 * Max/Min, pooling maxima and the activations onnxruntime computes with clamps (a max or min with NaN may
 * return the other operand), Pow (NaN^0 is 1), slicing and strided reads that skip elements.
 */
function carriesNaN(node: NodeProto, k: number, consts: GraphConstants): boolean {
  if (!inDefaultDomain(node)) return false;
  if (node.output.filter((o) => o !== '').length !== 1) return false;
  const op = node.opType;
  if (ARITHMETIC.has(op) || op === 'Concat') return true;
  switch (op) {
    case 'MatMul':
      return k <= 1;
    case 'Gemm':
      return k <= 1 ? attrFloat(node, 'alpha', 1) !== 0 : k === 2 && attrFloat(node, 'beta', 1) !== 0;
    case 'Conv':
      return k === 0 && convReadsEveryInput(node, consts);
    case 'BatchNormalization':
    case 'GlobalAveragePool':
      return k === 0;
    case 'Resize':
      return k === 0 && wholeUpsampleFactor(node, consts) !== undefined;
    default:
      return k === 0 && MOVES.has(op);
  }
}

/**
 * How each reduced tensor's NaN is seen. A tensor whose every element reaches a later reduced tensor through
 * steps that keep NaN (carriesNaN) holds NaN only if that tensor does: it needs no sum of its own when the
 * later one has its sums (its witness). Else one that cannot hold NaN while earlier reduced tensors are
 * finite (nanFreeConditions) needs none either. The rest keep their sums. Decided from the graph's last node
 * back, so that witnesses are settled first; a tensor without a sum never serves as a witness, so every
 * answer rests on a sum. (An empty witness proves nothing: the pass checks its size at run time. A step whose
 * output is empty while its input is not, a broadcast against an empty tensor, is assumed absent.)
 */
export function nanChecks(g: GraphProto, reduced: readonly string[], consts: GraphConstants = graphConstants(g)): Map<string, NanCheck> {
  const conditions = nanFreeConditions(g, reduced, consts);
  const isReduced = new Set(reduced);
  const checks = new Map<string, NanCheck>();
  /** tensor -> a reduced tensor with sums that holds NaN whenever this tensor does */
  const shownIn = new Map<string, string>();
  const decide = (t: string): void => {
    const witness = shownIn.get(t);
    const sources = conditions.get(t);
    if (witness !== undefined) checks.set(t, { kind: 'witness', witness });
    else if (sources) checks.set(t, { kind: 'sources', sources });
    else {
      checks.set(t, { kind: 'sum' });
      shownIn.set(t, t);
    }
  };
  for (let i = g.node.length - 1; i >= 0; i--) {
    const n = g.node[i]!;
    for (const o of n.output) if (o && isReduced.has(o) && !checks.has(o)) decide(o);
    const outs = n.output.filter((o) => o !== '');
    const witness = outs.length === 1 ? shownIn.get(outs[0]!) : undefined;
    if (witness === undefined) continue;
    n.input.forEach((t, k) => {
      if (t && !shownIn.has(t) && carriesNaN(n, k, consts)) shownIn.set(t, witness);
    });
  }
  // graph inputs
  for (const t of reduced) if (!checks.has(t)) decide(t);
  return checks;
}
