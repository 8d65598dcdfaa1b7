/**
 * Calibrated tensors that cannot hold NaN as long as some other calibrated tensors hold neither NaN nor ±Inf.
 * The min/max pass reduces each tensor three times: min, max, and a sum whose only use is to see NaN (which
 * onnxruntime's ReduceMin/ReduceMax skip). A tensor computed from already-reduced tensors through steps that
 * make no NaN out of finite operands needs no sum: at run time it is finite when its own min and max are
 * finite and every tensor it depends on was found finite.
 *
 * The steps are IEEE facts, not properties of one implementation:
 * - a sum or difference of two finite values, or of a non-NaN value and a finite one, is never NaN (NaN needs
 *   Inf - Inf); a product of finite values, or of a non-NaN value and a finite non-zero one, is never NaN
 *   (NaN needs 0 * Inf); a non-NaN value divided by a finite non-zero constant is never NaN;
 * - Relu, Clip with constant bounds, max-pooling, nearest resizing and the ops that only move values
 *   (Reshape, Transpose, Concat, Split, Slice, ...) make no NaN from non-NaN values, and all but max-pooling
 *   (a window over padding alone may give -Inf) keep finite values finite; Clip with two finite bounds makes
 *   any non-NaN value finite;
 * - Sigmoid, Tanh and HardSigmoid of finite values are finite.
 * Convolutions, matrix products, normalisations and averages are not such steps (an accumulation can
 * overflow both ways and give Inf - Inf), so their outputs keep their sums.
 *
 * ppocr_det: 45 of the 120 tensors it reduces, ppocr_rec: 40 of 119.
 */
import type { GraphProto, NodeProto } from '../core/onnx/index.js';
import { attrString } from '../core/onnx/index.js';
import { clipBounds, graphConstants, type GraphConstants } from './derived-ranges.js';

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
  if ((node.domain ?? '') !== '' && node.domain !== 'ai.onnx') return UNKNOWN;
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
