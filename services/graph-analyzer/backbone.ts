/**
 * Fusible Conv backbones, the lowest common ancestor of two nodes, and the non-residual Add input map (SPEC §1).
 */
import type { AGraph } from './agraph.js';
import type { ConstTensors } from './const-tensors.js';
import type { PathMatcher } from './path-match.js';

export const FUSIBLE_LINEAR_PATHS: readonly (readonly string[])[] = [
  ['BiasAdd', 'ConstMul', 'Conv'],
  ['Relu', 'BiasAdd', 'ConstMul', 'Conv'],
  ['BatchNormalization', 'BiasAdd', 'Conv'],
  ['Relu', 'BatchNormalization', 'BiasAdd', 'Conv'],
];

export class Backbones {
  /** -2: not computed; -1: none; else node id. */
  private readonly firstConv: Int32Array;
  private readonly fusible: Int32Array;

  constructor(
    private readonly g: AGraph,
    private readonly paths: PathMatcher,
  ) {
    this.firstConv = new Int32Array(g.size).fill(-2);
    this.fusible = new Int32Array(g.size).fill(-2);
  }

  /** the walk's explicit stack of [node, next input slot], kept between calls */
  private readonly stackNode: number[] = [];
  private readonly stackSlot: number[] = [];

  /**
   * The first Conv found by an upward depth-first walk through non-initializer inputs, input 0 first
   * (the node itself when it is a Conv). Memoised, iterative, on the index's tensor ids.
   */
  firstConvAbove(root: number): number {
    const memo = this.firstConv;
    if (memo[root] !== -2) return memo[root]!;
    const g = this.g;
    const stackNode = this.stackNode;
    const stackSlot = this.stackSlot;
    stackNode.push(root);
    stackSlot.push(g.inStart[root]!);
    while (stackNode.length) {
      const top = stackNode.length - 1;
      const i = stackNode[top]!;
      if (memo[i] !== -2) {
        stackNode.pop();
        stackSlot.pop();
        continue;
      }
      if (g.ops[i] === 'Conv') {
        memo[i] = i;
        stackNode.pop();
        stackSlot.pop();
        continue;
      }
      const end = g.inStart[i + 1]!;
      let k = stackSlot[top]!;
      let pushed = false;
      let found = -1;
      for (; k < end; k++) {
        const id = g.inIds[k]!;
        if (id < 0 || g.isInit[id]) continue;
        const p = g.prodFirst[id]!;
        if (p < 0) continue;
        const r = memo[p]!;
        if (r === -2) {
          stackSlot[top] = k;
          stackNode.push(p);
          stackSlot.push(g.inStart[p]!);
          pushed = true;
          break;
        }
        if (r >= 0) {
          found = r;
          break;
        }
      }
      if (pushed) continue;
      memo[i] = found;
      stackNode.pop();
      stackSlot.pop();
    }
    return memo[root]!;
  }

  /** The Conv backbone of a node matching one of the fusible paths, or -1. */
  of(i: number): number {
    const m = this.fusible[i]!;
    if (m !== -2) return m;
    let r = -1;
    for (const p of FUSIBLE_LINEAR_PATHS) {
      if (this.paths.hasPath(i, p, false)) {
        r = this.firstConvAbove(i);
        break;
      }
    }
    this.fusible[i] = r;
    return r;
  }
}

/**
 * Lowest common ancestor by breadth-first distances (a node is its own ancestor at distance 0). Returns the common
 * ancestor minimising d1 + d2 (ties: the smaller d1), or [-1, -1, -1]. The two searches advance one level at a
 * time, alternately, and stop as soon as no closer meeting is possible, so the cost is local to the two nodes.
 */
export function lowestCommonAncestor(g: AGraph, a: number, b: number): [number, number, number] {
  if (a === b) return [a, 0, 0];
  const dA = new Map<number, number>([[a, 0]]);
  const dB = new Map<number, number>([[b, 0]]);
  let frontA = [a];
  let frontB = [b];
  let levelA = 0;
  let levelB = 0;
  let best: [number, number, number] = [-1, -1, -1];
  let bestSum = Infinity;
  const consider = (n: number, x: number, y: number): void => {
    const s = x + y;
    if (s < bestSum || (s === bestSum && x < best[1])) {
      bestSum = s;
      best = [n, x, y];
    }
  };
  while (frontA.length || frontB.length) {
    // A meeting not yet seen needs a node one level deeper than some side's current level.
    const lower = Math.min(frontA.length ? levelA : Infinity, frontB.length ? levelB : Infinity) + 1;
    if (lower > bestSum) break;
    const expandA = frontA.length > 0 && (frontB.length === 0 || frontA.length <= frontB.length);
    if (expandA) {
      const next: number[] = [];
      for (const n of frontA) {
        for (const p of g.parents(n)) {
          if (dA.has(p)) continue;
          dA.set(p, levelA + 1);
          next.push(p);
          const y = dB.get(p);
          if (y !== undefined) consider(p, levelA + 1, y);
        }
      }
      frontA = next;
      levelA++;
    } else {
      const next: number[] = [];
      for (const n of frontB) {
        for (const p of g.parents(n)) {
          if (dB.has(p)) continue;
          dB.set(p, levelB + 1);
          next.push(p);
          const x = dA.get(p);
          if (x !== undefined) consider(p, x, levelB + 1);
        }
      }
      frontB = next;
      levelB++;
    }
  }
  // Also consider a start node being an ancestor of the other.
  const xa = dB.get(a);
  if (xa !== undefined) consider(a, 0, xa);
  const xb = dA.get(b);
  if (xb !== undefined) consider(b, xb, 0);
  return best;
}

/**
 * For each Add, the tensor id of its non-residual input (the one on the Conv branch that TensorRT fuses); -1 for
 * every other node and for an Add without one. Read from the index (input slots 0 and 1, their first producers).
 */
export function buildNonResidualMap(g: AGraph, consts: ConstTensors, bb: Backbones): Int32Array {
  const out = new Int32Array(g.size).fill(-1);
  for (let i = 0; i < g.size; i++) {
    if (g.ops[i] !== 'Add') continue;
    const s = g.inStart[i]!;
    const nIn = g.inStart[i + 1]! - s;
    const in0 = nIn > 0 ? g.inIds[s]! : -1;
    const in1 = nIn > 1 ? g.inIds[s + 1]! : -1;
    const p1 = in0 >= 0 ? g.prodFirst[in0]! : -1;
    const p2 = in1 >= 0 ? g.prodFirst[in1]! : -1;
    if (p1 < 0 || p2 < 0 || consts.hasConstInput(i)) continue;
    const b1 = bb.of(p1);
    const b2 = bb.of(p2);
    if (b1 >= 0 && b2 >= 0) {
      if (b1 === b2) continue;
      const [, d1, d2] = lowestCommonAncestor(g, p1, p2);
      out[i] = d1 > d2 ? in0 : in1;
    } else if (b1 >= 0) out[i] = in0;
    else if (b2 >= 0) out[i] = in1;
  }
  return out;
}
