/**
 * A read-only, index-based view of a graph for the analysis passes: nodes by integer id in the order the
 * reference's graph library sorts them (by depth level, stable), producer and consumer lists per tensor, and
 * the graph's inputs, outputs and initializers. Building it is linear (plus one sort by level).
 */
import type { GraphProto, NodeProto } from '../core/onnx/index.js';
import { implicitInputs } from '../core/onnx/index.js';
import { InvalidArgument } from '../core/errors.js';

export class AGraph {
  readonly nodes: NodeProto[];
  readonly names: string[];
  readonly ops: string[];
  readonly initializers: Set<string>;
  readonly graphInputs: Set<string>;
  readonly graphOutputs: Set<string>;
  private readonly prod = new Map<string, number | number[]>();
  private readonly cons = new Map<string, number[]>();
  private readonly parentCache: (number[] | undefined)[];
  private readonly childCache: (number[] | undefined)[];

  /** `nodes` must be acyclic; use `levelSort` first to get the reference's node order. */
  constructor(readonly graph: GraphProto, nodes: NodeProto[]) {
    this.nodes = nodes;
    this.names = nodes.map((n) => n.name);
    this.ops = nodes.map((n) => n.opType);
    this.initializers = new Set(graph.initializer.map((t) => t.name));
    this.graphInputs = new Set(graph.input.map((i) => i.name).filter((n) => !this.initializers.has(n)));
    this.graphOutputs = new Set(graph.output.map((o) => o.name));
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      for (const o of n.output) {
        if (!o) continue;
        const p = this.prod.get(o);
        if (p === undefined) this.prod.set(o, i);
        else if (typeof p === 'number') this.prod.set(o, [p, i]);
        else p.push(i);
      }
      for (const t of n.input) {
        if (!t) continue;
        const l = this.cons.get(t);
        if (l) l.push(i);
        else this.cons.set(t, [i]);
      }
    }
    this.parentCache = new Array(nodes.length);
    this.childCache = new Array(nodes.length);
  }

  get size(): number {
    return this.nodes.length;
  }

  /** Producers of a tensor (first one first). */
  producerCount(t: string): number {
    const p = this.prod.get(t);
    return p === undefined ? 0 : typeof p === 'number' ? 1 : p.length;
  }

  /** The first producer of a tensor, or -1 (graph input, initializer, missing). */
  firstProducer(t: string): number {
    const p = this.prod.get(t);
    return p === undefined ? -1 : typeof p === 'number' ? p : p[0]!;
  }

  /** The single producer, or -1 when there is none or more than one. */
  producer(t: string): number {
    const p = this.prod.get(t);
    return typeof p === 'number' ? p : -1;
  }

  consumers(t: string): readonly number[] {
    return this.cons.get(t) ?? EMPTY;
  }

  inputs(i: number): readonly string[] {
    return this.nodes[i]!.input;
  }

  outputs(i: number): readonly string[] {
    return this.nodes[i]!.output;
  }

  /** Producers of the inputs, counting only tensors with exactly one producer (duplicates kept). */
  parents(i: number): readonly number[] {
    let c = this.parentCache[i];
    if (!c) {
      c = [];
      for (const t of this.nodes[i]!.input) {
        if (!t) continue;
        const p = this.producer(t);
        if (p >= 0) c.push(p);
      }
      this.parentCache[i] = c;
    }
    return c;
  }

  /** Every consumer of every output, duplicates kept. */
  children(i: number): readonly number[] {
    let c = this.childCache[i];
    if (!c) {
      c = [];
      for (const o of this.nodes[i]!.output) if (o) for (const k of this.consumers(o)) c.push(k);
      this.childCache[i] = c;
    }
    return c;
  }

  label(i: number): string {
    return this.names[i] || `${this.ops[i]}#${i}`;
  }
}

const EMPTY: readonly number[] = Object.freeze([]);

/**
 * Orders nodes the way onnx-graphsurgeon's toposort does: by hierarchy level (a node's level is one more than
 * the highest level among the producers of its inputs, subgraph reads included), keeping the original order
 * within a level. Throws InvalidArgument naming a node on a cycle.
 */
export function levelSort(graph: GraphProto): NodeProto[] {
  const nodes = graph.node;
  const n = nodes.length;
  const prodIdx = new Map<string, number>();
  for (let i = 0; i < n; i++) for (const o of nodes[i]!.output) if (o && !prodIdx.has(o)) prodIdx.set(o, i);
  const deps: number[][] = new Array(n);
  const indeg = new Int32Array(n);
  const dependents: number[][] = new Array(n);
  for (let i = 0; i < n; i++) dependents[i] = [];
  for (let i = 0; i < n; i++) {
    const node = nodes[i]!;
    const hasSub = node.attribute.some((a) => a.g || (a.graphs && a.graphs.length));
    const ins = hasSub ? [...node.input, ...implicitInputs(node)] : node.input;
    const d: number[] = [];
    for (const t of ins) {
      if (!t) continue;
      const p = prodIdx.get(t);
      if (p === undefined) continue;
      if (p === i) throw new InvalidArgument(`graph has a cycle: node "${node.name || node.opType}" reads its own output "${t}"`);
      if (!d.includes(p)) d.push(p);
    }
    deps[i] = d;
    indeg[i] = d.length;
    for (const p of d) dependents[p]!.push(i);
  }
  const level = new Int32Array(n);
  const queue: number[] = [];
  for (let i = 0; i < n; i++) if (indeg[i] === 0) queue.push(i);
  let head = 0;
  while (head < queue.length) {
    const i = queue[head++]!;
    let lv = 0;
    for (const p of deps[i]!) if (level[p]! + 1 > lv) lv = level[p]! + 1;
    level[i] = lv;
    for (const k of dependents[i]!) if (--indeg[k]! === 0) queue.push(k);
  }
  if (queue.length !== n) {
    let stuck = 0;
    while (indeg[stuck] === 0) stuck++;
    const s = nodes[stuck]!;
    throw new InvalidArgument(`graph has a cycle through node "${s.name || s.opType}"`);
  }
  // Counting sort by level keeps the original order inside a level.
  let maxLevel = 0;
  for (let i = 0; i < n; i++) if (level[i]! > maxLevel) maxLevel = level[i]!;
  const start = new Int32Array(maxLevel + 2);
  for (let i = 0; i < n; i++) start[level[i]! + 1]!++;
  for (let l = 1; l < start.length; l++) start[l]! += start[l - 1]!;
  const out: NodeProto[] = new Array(n);
  for (let i = 0; i < n; i++) out[start[level[i]!]!++] = nodes[i]!;
  return out;
}
