/**
 * CASK and KGEN partitions (SPEC §1): in sorted order, each unpartitioned linear op seeds a CASK partition, then
 * each remaining pointwise op seeds a KGEN partition; partitions grow by a depth-first walk over consumers.
 */
import type { AGraph } from './agraph.js';
import type { ConstTensors } from './const-tensors.js';
import type { PathMatcher } from './path-match.js';
import type { Backbones } from './backbone.js';
import { isLinear, isPointwise } from './op-types.js';

export interface PartitionContext {
  g: AGraph;
  consts: ConstTensors;
  paths: PathMatcher;
  backbones: Backbones;
  nonResidual: Map<number, string | null>;
  /** Node ids already in some partition (patterns included); updated in place. */
  partitioned: Uint8Array;
}

export class FusiblePartitioner {
  private readonly mulFusible = new Map<number, boolean>();

  constructor(private readonly ctx: PartitionContext) {}

  /** Mul fusibility (Mul←Sigmoid←Conv fuses; Mul←Sigmoid and Mul←HardSigmoid do not; ≤1 variable input fuses). */
  isFusibleMul(i: number): boolean {
    const m = this.mulFusible.get(i);
    if (m !== undefined) return m;
    const { consts, paths } = this.ctx;
    let r: boolean;
    if (consts.variableInputs(i).length <= 1) r = true;
    else if (paths.hasPath(i, ['Mul', 'Sigmoid', 'Conv'], false)) r = true;
    else if (paths.hasPath(i, ['Mul', 'Sigmoid'], false) || paths.hasPath(i, ['Mul', 'HardSigmoid'], false)) r = false;
    else r = true;
    this.mulFusible.set(i, r);
    return r;
  }

  /** Grows one partition from `seed`. Returns the nodes in the order they were added. */
  grow(seed: number): number[] {
    const { g, consts, backbones, nonResidual, partitioned } = this.ctx;
    const part: number[] = [];
    // tensor -> position in `part` of its producer (for the "outputs so far" snapshots)
    const outPos = new Map<string, number>();
    const visit = (cur: number): void => {
      if (g.ops[cur] === 'Mul' && !this.isFusibleMul(cur)) return;
      const pos = part.length;
      part.push(cur);
      partitioned[cur] = 1;
      for (const o of g.outputs(cur)) if (o && !outPos.has(o)) outPos.set(o, pos);
      if (g.ops[cur] === 'Add' && nonResidual.get(cur)) return;
      const snapshot = part.length;
      const inPartition = (t: string): boolean => {
        const p = outPos.get(t);
        return p !== undefined && p < snapshot;
      };
      const curOut0 = g.outputs(cur)[0];
      for (const c of g.children(cur)) {
        if (partitioned[c]) continue;
        const op = g.ops[c]!;
        let ok = false;
        if (isPointwise(op)) {
          ok = true;
          for (const t of g.inputs(c)) {
            if (!inPartition(t) && !consts.isConst(t)) {
              ok = false;
              break;
            }
          }
        }
        if (!ok && (op === 'BatchNormalization' || op === 'Relu') && backbones.of(c) >= 0) ok = true;
        if (!ok && op === 'Add') {
          const nr = nonResidual.get(c);
          if (nr && curOut0 === nr) ok = true;
        }
        if (ok) visit(c);
      }
    };
    visit(seed);
    return part;
  }

  /** All CASK partitions (linear seeds), then all KGEN partitions (pointwise seeds). */
  findAll(): { cask: number[][]; kgen: number[][] } {
    const { g, partitioned } = this.ctx;
    const run = (isSeed: (op: string) => boolean): number[][] => {
      const out: number[][] = [];
      for (const i of g.order) {
        if (partitioned[i] || !isSeed(g.ops[i]!)) continue;
        const p = this.grow(i);
        if (p.length) out.push(p);
      }
      return out;
    };
    const cask = run(isLinear);
    const kgen = run(isPointwise);
    return { cask, kgen };
  }
}
