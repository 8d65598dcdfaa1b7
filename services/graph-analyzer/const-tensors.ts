/**
 * Const-tensor rules (SPEC §1): a tensor is const when it is an initializer, produced by Constant or Identity,
 * produced by Squeeze/Unsqueeze whose first input is const, or produced by Exp fed by a Clip with a const input.
 * Graph inputs are never const. Results are memoised per tensor; the recursion is iterative-safe because each
 * step moves strictly upstream in an acyclic graph.
 */
import type { AGraph } from './agraph.js';

export class ConstTensors {
  /** by tensor id: 0 unknown, 1 const, -1 not const */
  private readonly tmemo: Int8Array;
  private readonly nodeMemo: Int8Array;
  private readonly memo = {
    get: (t: string): boolean | undefined => {
      const id = this.g.tensorId(t);
      const v = id < 0 ? 0 : this.tmemo[id]!;
      return v === 0 ? undefined : v > 0;
    },
    set: (t: string, v: boolean): void => {
      const id = this.g.tensorId(t);
      if (id >= 0) this.tmemo[id] = v ? 1 : -1;
    },
  };

  constructor(private readonly g: AGraph) {
    this.nodeMemo = new Int8Array(g.size);
    this.tmemo = new Int8Array(g.tensorCount);
  }

  isConst(t: string): boolean {
    if (!t) return false;
    const id = this.g.tensorId(t);
    if (id < 0) return this.g.initializers.has(t);
    return this.isConstId(id);
  }

  /** isConst by tensor id (ids from the AGraph). */
  isConstId(id: number): boolean {
    if (id < 0) return false;
    const v = this.tmemo[id]!;
    if (v !== 0) return v > 0;
    const t = this.g.tensorNames[id]!;
    if (this.g.isInit[id]) {
      this.tmemo[id] = 1;
      return true;
    }
    const p0 = this.g.firstProducerOf(id);
    if (p0 < 0) {
      this.tmemo[id] = -1;
      return false;
    }
    const op0 = this.g.ops[p0]!;
    if (op0 !== 'Squeeze' && op0 !== 'Unsqueeze' && op0 !== 'Exp') {
      const r = op0 === 'Constant' || op0 === 'Identity';
      this.tmemo[id] = r ? 1 : -1;
      return r;
    }
    // Walk Squeeze/Unsqueeze chains upstream without recursion.
    const chain: string[] = [];
    let cur = t;
    let result = false;
    for (;;) {
      const known = this.memo.get(cur);
      if (known !== undefined) {
        result = known;
        break;
      }
      chain.push(cur);
      if (this.g.initializers.has(cur)) {
        result = true;
        break;
      }
      const p = this.g.firstProducer(cur);
      if (p < 0) {
        result = false;
        break;
      }
      const op = this.g.ops[p]!;
      if (op === 'Constant' || op === 'Identity') {
        result = true;
        break;
      }
      if (op === 'Squeeze' || op === 'Unsqueeze') {
        const first = this.g.inputs(p)[0];
        if (!first) {
          result = false;
          break;
        }
        cur = first;
        continue;
      }
      if (op === 'Exp') {
        // swin_v2: Const -> Clip -> Exp
        const src = this.g.inputs(p)[0];
        const clip = src ? this.g.firstProducer(src) : -1;
        result = clip >= 0 && this.g.ops[clip] === 'Clip' && this.hasConstInput(clip);
        break;
      }
      result = false;
      break;
    }
    for (const c of chain) this.memo.set(c, result);
    return result;
  }

  /** Whether any input of node i is const. */
  hasConstInput(i: number): boolean {
    const m = this.nodeMemo[i]!;
    if (m !== 0) return m > 0;
    let r = false;
    const g = this.g;
    for (let k = g.inStart[i]!; k < g.inStart[i + 1]!; k++) {
      if (this.isConstId(g.inIds[k]!)) {
        r = true;
        break;
      }
    }
    this.nodeMemo[i] = r ? 1 : -1;
    return r;
  }

  /** Inputs that are not initializers and not produced by a Constant node (graph inputs included). */
  variableInputs(i: number): string[] {
    const out: string[] = [];
    for (const t of this.g.inputs(i)) {
      if (!t || this.g.initializers.has(t)) continue;
      const p = this.g.firstProducer(t);
      if (p >= 0 && this.g.ops[p] === 'Constant') continue;
      out.push(t);
    }
    return out;
  }
}
