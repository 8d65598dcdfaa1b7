/**
 * Hard-coded non-quantizable patterns (SPEC §1): GELU (Div→Erf→Add→Mul→Mul, all matches in one partition),
 * LayerNorm (a LayerNormalization node, or the written-out ReduceMean chain with Cast as wildcard, or its first
 * seven ops) and MHA (a MatMul whose direct consumer is a MatMul).
 */
import type { AGraph } from './agraph.js';
import type { PathMatcher } from './path-match.js';

export const GELU_PATH = ['Div', 'Erf', 'Add', 'Mul', 'Mul'] as const;
export const LAYER_NORM_PATH = ['ReduceMean', 'Sub', 'Pow', 'ReduceMean', 'Add', 'Sqrt', 'Div', 'Mul', 'Add'] as const;
export const MEAN_VAR_NORM_PATH = LAYER_NORM_PATH.slice(0, 7);
export const MHA_PATH = ['MatMul', 'MatMul'] as const;

export interface PatternPartition {
  kind: 'gelu' | 'layernorm' | 'mha';
  nodes: number[];
}

export function findPatternPartitions(g: AGraph, paths: PathMatcher): PatternPartition[] {
  const out: PatternPartition[] = [];
  const gelu: number[] = [];
  for (let oi = 0, order = g.order; oi < order.length; oi++) {
    const i = order[oi]!;
    if (g.ops[i] !== 'Div') continue;
    const c: number[] = [];
    if (paths.hasPath(i, GELU_PATH, true, [], c)) gelu.push(...c);
  }
  out.push({ kind: 'gelu', nodes: dedupe(gelu) });
  for (let oi = 0, order = g.order; oi < order.length; oi++) {
    const i = order[oi]!;
    const op = g.ops[i];
    if (op === 'LayerNormalization') {
      out.push({ kind: 'layernorm', nodes: [i] });
    } else if (op === 'ReduceMean') {
      const c: number[] = [];
      if (paths.hasPath(i, LAYER_NORM_PATH, true, ['Cast'], c)) out.push({ kind: 'layernorm', nodes: dedupe(c) });
      else {
        const c2: number[] = [];
        if (paths.hasPath(i, MEAN_VAR_NORM_PATH, true, ['Cast'], c2)) out.push({ kind: 'layernorm', nodes: dedupe(c2) });
      }
    }
  }
  for (let oi = 0, order = g.order; oi < order.length; oi++) {
    const i = order[oi]!;
    if (g.ops[i] !== 'MatMul') continue;
    const c: number[] = [];
    if (paths.hasPath(i, MHA_PATH, true, [], c)) out.push({ kind: 'mha', nodes: dedupe(c) });
  }
  return out;
}

/** The distinct ids in first-seen order (a short list, one match, without a Set; the GELU list spans the graph). */
function dedupe(xs: number[]): number[] {
  if (xs.length > 16) return [...new Set(xs)];
  const out: number[] = [];
  for (let k = 0; k < xs.length; k++) if (!out.includes(xs[k]!)) out.push(xs[k]!);
  return out;
}
