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
  /** per node: the tensor id of an Add's non-residual input, or -1 (buildNonResidualMap) */
  nonResidual: Int32Array;
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

  /** per tensor id: position in the current partition of its producer, valid when stamp matches */
  private outPos?: Int32Array;
  private outStamp?: Int32Array;
  private stamp = 0;

  /** Grows one partition from `seed`. Returns the nodes in the order they were added. */
  grow(seed: number): number[] {
    const part: number[] = [];
    const nt = this.ctx.g.tensorCount;
    this.outPos ??= new Int32Array(nt);
    this.outStamp ??= new Int32Array(nt);
    this.stamp++;
    this.visit(seed, part);
    return part;
  }

  private visit(cur: number, part: number[]): void {
    const { g, nonResidual, partitioned } = this.ctx;
    const outPos = this.outPos!;
    const outStamp = this.outStamp!;
    const stamp = this.stamp;
    if (g.ops[cur] === 'Mul' && !this.isFusibleMul(cur)) return;
    const pos = part.length;
    part.push(cur);
    partitioned[cur] = 1;
    for (let k = g.outStart[cur]!; k < g.outStart[cur + 1]!; k++) {
      const o = g.outIds[k]!;
      if (o >= 0 && outStamp[o] !== stamp) {
        outStamp[o] = stamp;
        outPos[o] = pos;
      }
    }
    if (g.ops[cur] === 'Add' && nonResidual[cur]! >= 0) return;
    // consumers are judged against the partition's outputs as they are now
    const snapshot = part.length;
    const curOut0 = g.outStart[cur + 1]! > g.outStart[cur]! ? g.outIds[g.outStart[cur]!]! : -1;
    // every consumer of every output, duplicates kept, read from the index (no view per node)
    for (let ko = g.outStart[cur]!; ko < g.outStart[cur + 1]!; ko++) {
      const oid = g.outIds[ko]!;
      for (let kc = g.consumerStart(oid); kc < g.consumerEnd(oid); kc++) {
        this.consider(g.consumerAt(kc), part, snapshot, curOut0);
      }
    }
  }

  /** Whether consumer `c` of the node just added joins the partition (judged against the first `snapshot` members). */
  private consider(c: number, part: number[], snapshot: number, curOut0: number): void {
    const { g, consts, backbones, nonResidual, partitioned } = this.ctx;
    const outPos = this.outPos!;
    const outStamp = this.outStamp!;
    const stamp = this.stamp;
    if (partitioned[c]) return;
    const op = g.ops[c]!;
    let ok = false;
    if (isPointwise(op)) {
      ok = true;
      for (let k = g.inStart[c]!; k < g.inStart[c + 1]!; k++) {
        const t = g.inIds[k]!;
        if (t < 0) {
          ok = false; // an empty optional input is neither inside the partition nor const
          break;
        }
        if (!(outStamp[t] === stamp && outPos[t]! < snapshot) && !consts.isConstId(t)) {
          ok = false;
          break;
        }
      }
    }
    if (!ok && (op === 'BatchNormalization' || op === 'Relu') && backbones.of(c) >= 0) ok = true;
    if (!ok && op === 'Add') {
      const nr = nonResidual[c]!;
      if (nr >= 0 && curOut0 === nr) ok = true;
    }
    if (ok) this.visit(c, part);
  }

  /** All CASK partitions (linear seeds), then all KGEN partitions (pointwise seeds). */
  findAll(): { cask: number[][]; kgen: number[][] } {
    const { g, partitioned } = this.ctx;
    const run = (isSeed: (op: string) => boolean): number[][] => {
      const out: number[][] = [];
      for (let oi = 0, order = g.order; oi < order.length; oi++) {
        const i = order[oi]!;
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
