/**
 * Node selection (SPEC §1 steps 4-8 and exclusions): classify CASK partition nodes, pick KGEN heads, add the
 * remaining quantizable nodes (pooling ops only next to a quantizable consumer), drop output layers, then apply
 * the exclusions. Every node gets exactly one decision naming the rule that settled it.
 */
import type { AGraph } from './agraph.js';
import type { ConstTensors } from './const-tensors.js';
import { InvalidArgument } from '../core/errors.js';
import { isCopy, isPointwise, isPoolingOrWindow, isLinear } from './op-types.js';

export interface Edge {
  producer: number;
  consumer: number;
  tensor: string;
}

export interface Decision {
  quantized: boolean;
  rule: string;
  reason: string;
}

export interface Classification {
  quantizable: number[];
  partial: number[];
  internal: number[];
  noQuantize: Edge[];
}

/** CASK classification by non-const inputs: internal only → internal; external only → head; both → partial. */
export function classifyCask(g: AGraph, consts: ConstTensors, cask: number[][]): Classification {
  const res: Classification = { quantizable: [], partial: [], internal: [], noQuantize: [] };
  // tensor -> index of the partition that produces it
  const outPart = new Int32Array(g.tensorCount).fill(-1);
  for (let pi = 0; pi < cask.length; pi++) {
    const part = cask[pi]!;
    for (let q = 0; q < part.length; q++) {
      const n = part[q]!;
      for (let k = g.outStart[n]!; k < g.outStart[n + 1]!; k++) if (g.outIds[k]! >= 0) outPart[g.outIds[k]!] = pi;
    }
  }
  for (let pi = 0; pi < cask.length; pi++) {
    const part = cask[pi]!;
    for (let q = 0; q < part.length; q++) {
      const n = part[q]!;
      let external = false;
      let internal = false;
      for (let k = g.inStart[n]!; k < g.inStart[n + 1]!; k++) {
        const id = g.inIds[k]!;
        if (id < 0 || consts.isConstId(id)) continue;
        if (outPart[id] !== pi) external = true;
        else internal = true;
      }
      if (!external) res.internal.push(n);
      else if (internal) {
        // the edges are made only here (most CASK nodes are internal, and their edges were dropped)
        for (let k = g.inStart[n]!; k < g.inStart[n + 1]!; k++) {
          const id = g.inIds[k]!;
          if (id < 0 || consts.isConstId(id) || outPart[id] !== pi) continue;
          res.noQuantize.push({ producer: g.prodFirst[id]!, consumer: n, tensor: g.tensorNames[id]! });
          res.partial.push(n);
        }
      } else res.quantizable.push(n);
    }
  }
  return res;
}

const OUTPUT_QUANT_CANDIDATES = new Set(['AveragePool', 'BatchNormalization', 'GlobalAveragePool', 'MaxPool']);

export interface KgenResult {
  heads: number[];
  noQuantize: Edge[];
  /** Why each KGEN head was not taken. */
  skipped: Map<number, string>;
}

/** KGEN heads that follow a CASK partition (possibly through copy ops) or an output-quantization candidate. */
export function filterKgenHeads(g: AGraph, consts: ConstTensors, cask: number[][], kgen: number[][], quantizableTypes: ReadonlySet<string>): KgenResult {
  const inCask = new Uint8Array(g.size);
  for (let q = 0; q < cask.length; q++) {
    const p = cask[q]!;
    for (let k = 0; k < p.length; k++) inCask[p[k]!] = 1;
  }
  // multiset of names: CASK heads + KGEN heads found so far
  const qCount = new Map<string, number>();
  const bump = (name: string, d: number): void => {
    qCount.set(name, (qCount.get(name) ?? 0) + d);
  };
  for (let q = 0; q < cask.length; q++) bump(g.names[cask[q]![0]!]!, 1);
  const follows = new Int8Array(g.size); // 0 unknown, 1 yes, -1 no
  const followsCask = (start: number): boolean => {
    // iterative DFS over copy-op parents
    if (follows[start] !== 0) return follows[start]! > 0;
    if (inCask[start]) return true; // the common case, without the walk's arrays
    const stack = [start];
    const order: number[] = [];
    const seen = new Set<number>();
    let found = false;
    while (stack.length && !found) {
      const n = stack.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      if (follows[n] === 1 || inCask[n]) {
        found = true;
        break;
      }
      if (follows[n] === -1) continue;
      order.push(n);
      if (!isCopy(g.ops[n]!)) continue;
      const ps = g.parents(n);
      for (let k = ps.length - 1; k >= 0; k--) stack.push(ps[k]!);
    }
    if (found) follows[start] = 1;
    else for (const n of order) follows[n] = -1;
    return found;
  };
  const res: KgenResult = { heads: [], noQuantize: [], skipped: new Map() };
  for (let q = 0; q < kgen.length; q++) {
    const head = kgen[q]![0]!;
    const op = g.ops[head]!;
    if (!quantizableTypes.has(op)) {
      res.skipped.set(head, `KGEN head of type ${op}, which is not a quantizable type`);
      continue;
    }
    if (consts.hasConstInput(head)) {
      res.skipped.set(head, 'KGEN head with a const input');
      continue;
    }
    const headName = g.names[head]!;
    const edges: Edge[] = [];
    let hasQuantizable = false;
    const parents = g.parents(head);
    for (let k = 0; k < parents.length; k++) {
      const parent = parents[k]!;
      if (followsCask(parent) || OUTPUT_QUANT_CANDIDATES.has(g.ops[parent]!)) {
        res.heads.push(head);
        bump(headName, 1);
        hasQuantizable = true;
      } else {
        const t = g.outputs(parent)[0] ?? '';
        let other = false;
        for (const c of g.consumers(t)) {
          const nm = g.names[c]!;
          let cnt = qCount.get(nm) ?? 0;
          if (nm === headName) cnt -= 1;
          if (cnt > 0) {
            other = true;
            break;
          }
        }
        if (!other) edges.push({ producer: parent, consumer: head, tensor: t });
      }
    }
    if (!hasQuantizable) res.skipped.set(head, 'KGEN head with no input from a CASK partition or pooling/normalization op');
    if (op === 'Add' && hasQuantizable) res.noQuantize.push(...edges);
  }
  return res;
}

export interface RemainingResult {
  nodes: number[];
  skipped: Map<number, { rule: string; reason: string }>;
}

/** Unpartitioned nodes of quantizable type, minus pointwise ops with a const input; pooling ops need a quantizable consumer. */
export function findRemaining(g: AGraph, consts: ConstTensors, partitioned: Uint8Array, selectedSoFar: Iterable<number>, quantizableTypes: ReadonlySet<string>): RemainingResult {
  const res: RemainingResult = { nodes: [], skipped: new Map() };
  const pooling: number[] = [];
  for (let i = 0; i < g.size; i++) {
    const op = g.ops[i]!;
    if (partitioned[i] || !quantizableTypes.has(op)) continue;
    if (isPoolingOrWindow(op)) {
      pooling.push(i);
      continue;
    }
    if (isPointwise(op) && consts.hasConstInput(i)) {
      res.skipped.set(i, { rule: 'pointwise-const-input', reason: `${op} with a const input is left to fuse with its producer` });
      continue;
    }
    res.nodes.push(i);
  }
  // names of the nodes selected so far (by name, as the reference compares), built only if a pooling node asks
  let qsetCache: Set<string> | undefined;
  const qset = (): Set<string> => {
    if (qsetCache) return qsetCache;
    qsetCache = new Set<string>();
    for (const n of selectedSoFar) qsetCache.add(g.names[n]!);
    for (const n of res.nodes) qsetCache.add(g.names[n]!);
    return qsetCache;
  };
  const memo = new Int8Array(g.size);
  const hasQConsumer = (start: number): boolean => {
    // DFS through copy-op children
    if (memo[start] !== 0) return memo[start]! > 0;
    const stack = [start];
    const seen = new Set<number>([start]);
    const visited: number[] = [];
    while (stack.length) {
      const n = stack.pop()!;
      visited.push(n);
      for (const c of g.children(n)) {
        if (qset().has(g.names[c]!) || memo[c] === 1) {
          memo[start] = 1;
          return true;
        }
        if (isCopy(g.ops[c]!) && !seen.has(c) && memo[c] !== -1) {
          seen.add(c);
          stack.push(c);
        }
      }
    }
    for (const v of visited) memo[v] = -1;
    return false;
  };
  for (const p of pooling) {
    if (hasQConsumer(p)) res.nodes.push(p);
    else res.skipped.set(p, { rule: 'pooling-no-quantizable-consumer', reason: `${g.ops[p]} has no quantizable consumer (through copy ops)` });
  }
  return res;
}

/** Nodes producing a graph output, unless Conv/Gemm/MatMul or partially quantizable. */
export function outputLayerSkips(g: AGraph, partial: ReadonlySet<number>): Set<number> {
  const out = new Set<number>();
  for (let i = 0; i < g.size; i++) {
    if (!g.outputs(i).some((o) => g.graphOutputs.has(o))) continue;
    if (isLinear(g.ops[i]!)) continue;
    if (partial.has(i)) continue;
    out.add(i);
  }
  return out;
}

/** Compiles user name patterns: regular expressions anchored at the start of the node name (Python re.match). */
export function compileNamePatterns(patterns: readonly string[]): RegExp[] {
  return patterns.map((p) => {
    try {
      return new RegExp(`^(?:${p})`, 'u');
    } catch (err) {
      throw new InvalidArgument(`bad node-name pattern "${p}": ${(err as Error).message}`);
    }
  });
}
