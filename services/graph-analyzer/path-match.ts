/**
 * Path matching (`has_path_type` in the reference): from a node, follow consumers (forward) or producers
 * (backward) and check op types against a list. An Add with a const input also counts as `BiasAdd`, a Mul with a
 * const input as `ConstMul`; those two entries are optional (skipped when they do not match). Wildcard types pass
 * through without consuming an entry. The walk succeeds if any next-level node matches the rest; an empty
 * remainder is a match. Matched nodes are collected into a list the caller owns (the reference shares one
 * mutable default list between calls; see docs/compatibility.md).
 */
import type { AGraph } from './agraph.js';
import type { ConstTensors } from './const-tensors.js';

const OPTIONAL = new Set(['BiasAdd', 'ConstMul']);
const NO_WILDCARDS: readonly string[] = [];

export class PathMatcher {
  constructor(
    private readonly g: AGraph,
    private readonly consts: ConstTensors,
  ) {}

  effectiveType(i: number): string {
    const op = this.g.ops[i]!;
    if (op === 'Add' && this.consts.hasConstInput(i)) return 'BiasAdd';
    if (op === 'Mul' && this.consts.hasConstInput(i)) return 'ConstMul';
    return op;
  }

  /**
   * Whether node `i` starts a path of `types` (forward: through consumers; backward: through producers).
   * Matched nodes are appended to `collected` when given.
   */
  hasPath(i: number, types: readonly string[], forward: boolean, wildcards: readonly string[] = NO_WILDCARDS, collected?: number[]): boolean {
    // (no list at all when the caller wants none: this runs several times per node)
    return this.match(i, types, 0, forward, wildcards, collected ?? null);
  }

  private match(i: number, types: readonly string[], k: number, forward: boolean, wild: readonly string[], out: number[] | null): boolean {
    const g = this.g;
    for (;;) {
      if (k >= types.length) return true;
      const want = types[k]!;
      const t = this.effectiveType(i);
      const isMatch = t === want || g.ops[i] === want;
      const isWild = wild.includes(t);
      const optional = OPTIONAL.has(want);
      if (!isMatch && !isWild && !optional) return false;
      if (isMatch && out) out.push(i);
      const next = isMatch || optional ? k + 1 : k;
      if (!isMatch && !isWild) {
        // optional entry skipped: try the same node against the next entry
        k = next;
        continue;
      }
      // the next level, read straight from the index (no per-level arrays: this runs for every node); what a
      // failed branch appended is dropped again
      const mark = out ? out.length : 0;
      if (forward) {
        for (let o = g.outStart[i]!; o < g.outStart[i + 1]!; o++) {
          const id = g.outIds[o]!;
          for (let c = g.consumerStart(id); c < g.consumerEnd(id); c++) {
            if (this.match(g.consumerAt(c), types, next, forward, wild, out)) return true;
            if (out) out.length = mark;
          }
        }
      } else {
        for (let p = g.inStart[i]!; p < g.inStart[i + 1]!; p++) {
          const id = g.inIds[p]!;
          if (id < 0 || g.prodCount[id] !== 1) continue;
          if (this.match(g.prodFirst[id]!, types, next, forward, wild, out)) return true;
          if (out) out.length = mark;
        }
      }
      return next >= types.length;
    }
  }
}
