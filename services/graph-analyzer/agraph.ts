/**
 * A read-only, index-based view of a graph for the analysis passes. Node ids follow the model's own node order
 * (so consumer lists are in that order, as in the reference's graph library); `order` lists the ids in the order
 * the reference's toposort gives (by depth level, stable). Building it is linear.
 */
import type { GraphProto, NodeProto } from '../core/onnx/index.js';
import { implicitInputs } from '../core/onnx/index.js';
import { InvalidArgument } from '../core/errors.js';
import { int32s, uint8s } from './graph-arrays.js';
import { NameTable } from './name-table.js';

const EMPTY: readonly number[] = Object.freeze([]);

function hasSubgraph(a: { g?: unknown; graphs?: unknown[] }): boolean {
  return !!a.g || !!(a.graphs && a.graphs.length);
}

/** AGraph.nodeFlags: the node has a graph-valued attribute (If, Loop, Scan bodies). */
export const NODE_HAS_SUBGRAPH = 1;
/** AGraph.nodeFlags: the node is in the default ONNX domain ('' or 'ai.onnx'). */
export const NODE_DEFAULT_DOMAIN = 2;

/** A list of node ids (a view into the index; do not modify). */
export type NodeIds = ArrayLike<number> & Iterable<number> & { some(f: (v: number) => boolean): boolean };

const NONE = new Int32Array(0);

/** Membership of tensor names by the index's flags; names no node mentions are looked up in a small set. */
export class NameFlags {
  constructor(
    private readonly table: NameTable,
    private readonly flags: Uint8Array,
    private readonly unindexed: ReadonlySet<string>,
  ) {}

  has(t: string): boolean {
    const id = this.table.get(t);
    return id >= 0 ? this.flags[id] === 1 : this.unindexed.has(t);
  }
}

export class AGraph {
  readonly nodes: NodeProto[];
  readonly names: string[];
  readonly ops: string[];
  /** initializer names and graph inputs that are not initializers (no set of every weight name: flags by id) */
  readonly initializers: NameFlags;
  readonly graphInputs: NameFlags;
  readonly graphOutputs: Set<string>;
  private orderCache?: Int32Array;
  /** tensor name -> tensor id */
  private readonly tid: NameTable;
  /** tensor id -> name */
  readonly tensorNames: string[];
  /** per tensor id: initializer / graph input flags */
  readonly isInit: Uint8Array;
  readonly isGraphInput: Uint8Array;
  /** node inputs/outputs as tensor ids (CSR by node, aligned with positions; -1 for an empty name) */
  readonly inStart: Int32Array;
  readonly inIds: Int32Array;
  readonly outStart: Int32Array;
  readonly outIds: Int32Array;
  /** first producer per tensor id (-1: none) and how many producers it has */
  readonly prodFirst: Int32Array;
  /** producers per tensor id: 0, 1, or 2 for two or more (only those cases are ever asked). */
  readonly prodCount: Uint8Array;
  /** per node: NODE_HAS_SUBGRAPH, NODE_DEFAULT_DOMAIN (read once here, so later passes need not touch the node objects) */
  readonly nodeFlags: Uint8Array;
  /** consumers per tensor id, CSR */
  private readonly consStart: Int32Array;
  private readonly consList: Int32Array;

  /** `order` (computed on first use) throws InvalidArgument when the graph has a cycle. */
  constructor(readonly graph: GraphProto) {
    const nodes = graph.node;
    this.nodes = nodes;
    const n = nodes.length;
    this.names = new Array(n);
    this.ops = new Array(n);
    this.graphOutputs = new Set();
    for (const o of graph.output) this.graphOutputs.add(o.name);
    // pass 1: intern every input and output name; ids aligned with input/output positions (-1: empty name)
    let nIn = 0;
    let nOut = 0;
    for (let i = 0; i < n; i++) {
      nIn += nodes[i]!.input.length;
      nOut += nodes[i]!.output.length;
    }
    // distinct names are the outputs plus what they read from outside (initializers, inputs); more
    // (dangling reads, which validation rejects) only make the table grow
    const tid = (this.tid = new NameTable(nOut + graph.initializer.length + graph.input.length + 16));
    const inStart = int32s(n + 1);
    const outStart = int32s(n + 1);
    const inIds = int32s(nIn);
    const outIds = int32s(nOut);
    let qi = 0;
    let qo = 0;
    let consTotal = 0;
    const nodeFlags = (this.nodeFlags = uint8s(n));
    for (let i = 0; i < n; i++) {
      const node = nodes[i]!;
      this.names[i] = node.name;
      this.ops[i] = node.opType;
      const domain = node.domain ?? '';
      const attrs = node.attribute;
      let f = domain === '' || domain === 'ai.onnx' ? NODE_DEFAULT_DOMAIN : 0;
      for (let k = 0; k < attrs.length; k++) if (hasSubgraph(attrs[k]!)) f |= NODE_HAS_SUBGRAPH;
      nodeFlags[i] = f;
      outStart[i] = qo;
      const outs = node.output;
      for (let k = 0; k < outs.length; k++) {
        const t = outs[k]!;
        let id = -1;
        if (t) id = tid.intern(t);
        outIds[qo++] = id;
      }
      inStart[i] = qi;
      const ins = node.input;
      for (let k = 0; k < ins.length; k++) {
        const t = ins[k]!;
        let id = -1;
        if (t) {
          id = tid.intern(t);
          consTotal++;
        }
        inIds[qi++] = id;
      }
    }
    inStart[n] = qi;
    outStart[n] = qo;
    const tnames = (this.tensorNames = tid.names);
    this.inStart = inStart;
    this.inIds = inIds;
    this.outStart = outStart;
    this.outIds = outIds;
    const nt = tnames.length;
    this.isInit = uint8s(nt);
    this.isGraphInput = uint8s(nt);
    // flags from the initializer and input lists; the few such names that no node mentions go to small sets
    const unindexedInits = new Set<string>();
    const unindexedInputs = new Set<string>();
    for (let q = 0; q < graph.initializer.length; q++) {
      const t = graph.initializer[q]!;
      const id = tid.get(t.name);
      if (id >= 0) this.isInit[id] = 1;
      else unindexedInits.add(t.name);
    }
    for (let q = 0; q < graph.input.length; q++) {
      const i = graph.input[q]!;
      const id = tid.get(i.name);
      if (id >= 0) {
        if (!this.isInit[id]) this.isGraphInput[id] = 1;
      } else if (!unindexedInits.has(i.name)) unindexedInputs.add(i.name);
    }
    this.initializers = new NameFlags(tid, this.isInit, unindexedInits);
    this.graphInputs = new NameFlags(tid, this.isGraphInput, unindexedInputs);
    // pass 2: producers and consumer counts
    this.prodFirst = int32s(nt).fill(-1);
    this.prodCount = uint8s(nt);
    const cnt = int32s(nt + 1);
    for (let i = 0; i < n; i++) {
      for (let k = outStart[i]!; k < outStart[i + 1]!; k++) {
        const id = outIds[k]!;
        if (id < 0) continue;
        if (this.prodFirst[id] === -1) this.prodFirst[id] = i;
        if (this.prodCount[id]! < 2) this.prodCount[id]!++;
      }
    }
    for (let k = 0; k < nIn; k++) if (inIds[k]! >= 0) cnt[inIds[k]! + 1]!++;
    for (let t = 0; t < nt; t++) cnt[t + 1]! += cnt[t]!;
    this.consStart = cnt;
    // pass 3: consumer lists in node order, filled from the back: cnt[id + 1] (the end of id's list)
    // counts down to the list's start, then the starts shift into place (no scratch copy)
    this.consList = int32s(consTotal);
    for (let i = n - 1; i >= 0; i--) {
      for (let k = inStart[i + 1]! - 1; k >= inStart[i]!; k--) {
        const id = inIds[k]!;
        if (id >= 0) this.consList[--cnt[id + 1]!] = i;
      }
    }
    for (let t = 0; t < nt; t++) cnt[t] = cnt[t + 1]!;
    cnt[nt] = consTotal;
  }

  get size(): number {
    return this.nodes.length;
  }

  /** Node ids in the reference's topological order (by depth level, stable). */
  get order(): Int32Array {
    return (this.orderCache ??= levelOrder(this));
  }

  /** Number of distinct tensor names seen in node inputs and outputs. */
  get tensorCount(): number {
    return this.prodFirst.length;
  }

  /** Dense id of a tensor named by some node input or output, or -1. */
  tensorId(t: string): number {
    return this.tid.get(t);
  }

  /** First producer by tensor id (-1: none). */
  firstProducerOf(id: number): number {
    return this.prodFirst[id]!;
  }

  producerCount(t: string): number {
    const id = this.tid.get(t);
    return id < 0 ? 0 : this.prodCount[id]!;
  }

  /** The first producer of a tensor, or -1 (graph input, initializer, missing). */
  firstProducer(t: string): number {
    const id = this.tid.get(t);
    return id < 0 ? -1 : this.prodFirst[id]!;
  }

  /** The single producer, or -1 when there is none or more than one. */
  producer(t: string): number {
    const id = this.tid.get(t);
    return id < 0 || this.prodCount[id] !== 1 ? -1 : this.prodFirst[id]!;
  }

  /** Consumers of a tensor in node order (a node reading it twice is listed twice). */
  consumers(t: string): NodeIds {
    const id = this.tid.get(t);
    return id < 0 ? NONE : this.consList.subarray(this.consStart[id]!, this.consStart[id + 1]!);
  }

  inputs(i: number): readonly string[] {
    return this.nodes[i]!.input;
  }

  outputs(i: number): readonly string[] {
    return this.nodes[i]!.output;
  }

  /** Producers of the inputs, counting only tensors with exactly one producer (duplicates kept). */
  parents(i: number): readonly number[] {
    let out: number[] | undefined;
    for (let k = this.inStart[i]!; k < this.inStart[i + 1]!; k++) {
      const id = this.inIds[k]!;
      if (id >= 0 && this.prodCount[id] === 1) (out ??= []).push(this.prodFirst[id]!);
    }
    return out ?? EMPTY;
  }

  /**
   * Consumers of tensor id `id` without a view: consumerAt(k) for consumerStart(id) <= k < consumerEnd(id),
   * in node order (for loops that run per node; an id < 0 has none).
   */
  consumerStart(id: number): number {
    return id < 0 ? 0 : this.consStart[id]!;
  }
  consumerEnd(id: number): number {
    return id < 0 ? 0 : this.consStart[id + 1]!;
  }
  consumerAt(k: number): number {
    return this.consList[k]!;
  }

  /** Consumers of a tensor id, in node order. */
  consumersOf(id: number): NodeIds {
    return id < 0 ? NONE : this.consList.subarray(this.consStart[id]!, this.consStart[id + 1]!);
  }

  /** Every consumer of every output, duplicates kept. */
  children(i: number): NodeIds {
    const a = this.outStart[i]!;
    const b = this.outStart[i + 1]!;
    if (b - a === 1) return this.consumersOf(this.outIds[a]!);
    const acc: number[] = [];
    for (let k = a; k < b; k++) for (const x of this.consumersOf(this.outIds[k]!)) acc.push(x);
    return acc;
  }

  label(i: number): string {
    return this.names[i] || `${this.ops[i]}#${i}`;
  }
}

/**
 * The order onnx-graphsurgeon's toposort gives: by hierarchy level (one more than the highest level among the
 * producers of a node's inputs, subgraph reads included), keeping the model's order within a level. Throws
 * InvalidArgument naming a node on a cycle.
 *
 * Kahn's algorithm on the index itself: a node waits for each of its input slots that some node produces, and a
 * finished node releases the slots that read its outputs (the index's consumer lists), passing its level on. No
 * dependency lists are built (~30 MB less at a million nodes: fresh memory costs first-touch page faults, and
 * per-pass typed arrays count as V8 external memory; see graph-arrays.ts). Nodes with subgraphs wait
 * on the distinct producers of everything they read, their subgraphs' outer reads included.
 */
export function levelOrder(g: AGraph): Int32Array {
  const n = g.size;
  const { inStart, inIds, outStart, outIds, prodFirst, nodeFlags } = g;
  const waiting = new Int32Array(n);
  // producer -> the nodes with subgraphs that wait on it (rare: If/Loop/Scan)
  const subWaiters = new Map<number, number[]>();
  const cycleAt = (i: number): InvalidArgument => {
    const node = g.nodes[i]!;
    return new InvalidArgument(`graph has a cycle: node "${node.name || node.opType}" reads its own output`);
  };
  for (let i = 0; i < n; i++) {
    if (nodeFlags[i]! & NODE_HAS_SUBGRAPH) {
      const node = g.nodes[i]!;
      const producers = new Set<number>();
      for (const t of [...node.input, ...implicitInputs(node)]) {
        const p = t ? g.firstProducer(t) : -1;
        if (p === i) throw cycleAt(i);
        if (p >= 0) producers.add(p);
      }
      for (const p of producers) {
        let l = subWaiters.get(p);
        if (!l) subWaiters.set(p, (l = []));
        l.push(i);
      }
      waiting[i] = producers.size;
      continue;
    }
    let w = 0;
    for (let k = inStart[i]!; k < inStart[i + 1]!; k++) {
      const id = inIds[k]!;
      if (id < 0) continue;
      const p = prodFirst[id]!;
      if (p === i) throw cycleAt(i);
      if (p >= 0) w++;
    }
    waiting[i] = w;
  }
  const level = new Int32Array(n);
  const queue = int32s(n); // becomes the order, which the index keeps
  let tail = 0;
  for (let i = 0; i < n; i++) if (waiting[i] === 0) queue[tail++] = i;
  let maxLevel = 0;
  const release = (c: number, lv: number): void => {
    if (lv > level[c]!) level[c] = lv;
    if (--waiting[c]! === 0) queue[tail++] = c;
  };
  for (let head = 0; head < tail; head++) {
    const p = queue[head]!;
    const next = level[p]! + 1;
    if (level[p]! > maxLevel) maxLevel = level[p]!;
    for (let k = outStart[p]!; k < outStart[p + 1]!; k++) {
      const id = outIds[k]!;
      // a tensor this node writes twice is released once; one that another node produced first is not its own
      if (id < 0 || prodFirst[id] !== p) continue;
      let again = false;
      for (let q = outStart[p]!; q < k && !again; q++) again = outIds[q] === id;
      if (again) continue;
      for (let c = g.consumerStart(id); c < g.consumerEnd(id); c++) {
        const d = g.consumerAt(c);
        if (!(nodeFlags[d]! & NODE_HAS_SUBGRAPH)) release(d, next);
      }
    }
    const subs = subWaiters.get(p);
    if (subs) for (const d of subs) release(d, next);
  }
  if (tail !== n) {
    let stuck = 0;
    while (waiting[stuck] === 0) stuck++;
    const s = g.nodes[stuck]!;
    throw new InvalidArgument(`graph has a cycle through node "${s.name || s.opType}"`);
  }
  // Counting sort by level keeps the model's order inside a level. The queue becomes the result and the (now
  // all-zero) wait counts the level starts where they fit: fewer large typed arrays alive at once.
  const start = maxLevel + 2 <= n ? waiting.subarray(0, maxLevel + 2) : new Int32Array(maxLevel + 2);
  for (let i = 0; i < n; i++) start[level[i]! + 1]!++;
  for (let l = 1; l < start.length; l++) start[l]! += start[l - 1]!;
  const out = queue;
  for (let i = 0; i < n; i++) out[start[level[i]!]!++] = i;
  return out;
}
