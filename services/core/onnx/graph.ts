/**
 * A small graph IR over an ONNX GraphProto: producer and consumer links, constants,
 * topological sort and cleanup. The nodes are the GraphProto's own NodeProto objects, so
 * edits made through the IR are saved with the model and unknown fields survive.
 *
 * Indices are built lazily and dropped by `invalidate()`; call it after editing node inputs or
 * outputs directly. Every pass here is linear in the size of the graph.
 */
import { onnx, type GraphProto, type NodeProto, type TensorProto, type AttributeProto, type ValueInfoProto } from './proto.js';
import { constantNodeValue } from './tensor.js';
import { InvalidArgument } from '../errors.js';

export type AttrValue = number | string | number[] | string[] | TensorProto | GraphProto | undefined;

export function getAttr(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((a) => a.name === name) as AttributeProto | undefined;
}

export function attrInt(node: NodeProto, name: string, dflt: number): number {
  const a = getAttr(node, name);
  return a ? Number(a.i) : dflt;
}

export function attrFloat(node: NodeProto, name: string, dflt: number): number {
  const a = getAttr(node, name);
  return a ? a.f : dflt;
}

export function attrInts(node: NodeProto, name: string): number[] | undefined {
  const a = getAttr(node, name);
  return a ? a.ints.map(Number) : undefined;
}

export function attrString(node: NodeProto, name: string): string | undefined {
  const a = getAttr(node, name);
  return a ? Buffer.from(a.s).toString('utf8') : undefined;
}

export function setAttrInt(node: NodeProto, name: string, value: number): void {
  const existing = getAttr(node, name);
  if (existing) {
    existing.i = value;
    return;
  }
  node.attribute = [...node.attribute, onnx.AttributeProto.create({ name, i: value, type: onnx.AttributeProto.AttributeType.INT }) as unknown as AttributeProto];
}

export function makeNode(opType: string, inputs: string[], outputs: string[], name: string, attrs: Record<string, number | number[] | string> = {}, domain = ''): NodeProto {
  const attribute: AttributeProto[] = [];
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'number') {
      attribute.push(
        onnx.AttributeProto.create(
          Number.isInteger(v) ? { name: k, i: v, type: onnx.AttributeProto.AttributeType.INT } : { name: k, f: v, type: onnx.AttributeProto.AttributeType.FLOAT },
        ) as AttributeProto,
      );
    } else if (typeof v === 'string') {
      attribute.push(onnx.AttributeProto.create({ name: k, s: Buffer.from(v), type: onnx.AttributeProto.AttributeType.STRING }) as AttributeProto);
    } else {
      attribute.push(onnx.AttributeProto.create({ name: k, ints: v, type: onnx.AttributeProto.AttributeType.INTS }) as AttributeProto);
    }
  }
  const node = onnx.NodeProto.create({ opType, input: inputs, output: outputs, name, attribute: attribute as never }) as unknown as NodeProto;
  if (domain) node.domain = domain;
  return node;
}

/** Names of outer-scope tensors a node's subgraphs read (their implicit inputs). */
export function implicitInputs(node: NodeProto): string[] {
  const out = new Set<string>();
  for (const a of node.attribute) {
    const graphs = [...(a.g ? [a.g] : []), ...(a.graphs ?? [])] as GraphProto[];
    for (const g of graphs) collectOuterRefs(g, out);
  }
  return [...out];
}

function collectOuterRefs(g: GraphProto, out: Set<string>): void {
  const local = new Set<string>();
  for (const i of g.input) local.add(i.name);
  for (const t of g.initializer) local.add(t.name);
  for (const n of g.node) for (const o of n.output) local.add(o);
  for (const n of g.node) {
    for (const i of n.input) if (i && !local.has(i)) out.add(i);
    for (const inner of implicitInputs(n as NodeProto)) if (!local.has(inner)) out.add(inner);
  }
  for (const o of g.output) if (!local.has(o.name)) out.add(o.name);
}

/**
 * The part of `graph` that computing `targets` needs: the nodes they depend on (subgraph reads
 * included), in their original order (no topological order assumed), and every name read on the way
 * (the targets, the kept nodes' inputs and subgraph reads): what decides which initializers stay.
 */
export function neededForTargets(graph: GraphProto, targets: Iterable<string>): { node: NodeProto[]; read: Set<string> } {
  const producer = new Map<string, number>();
  graph.node.forEach((n, i) => {
    for (const o of n.output) if (o) producer.set(o, i);
  });
  const keep = new Uint8Array(graph.node.length);
  const read = new Set<string>();
  const stack: string[] = [...targets];
  while (stack.length) {
    const t = stack.pop()!;
    if (read.has(t)) continue;
    read.add(t);
    const i = producer.get(t);
    if (i === undefined || keep[i]) continue;
    keep[i] = 1;
    const n = graph.node[i]!;
    for (const x of n.input) if (x && !read.has(x)) stack.push(x);
    for (const x of implicitInputsCached(n)) if (!read.has(x)) stack.push(x);
  }
  return { node: graph.node.filter((_, i) => keep[i]), read };
}

export class Graph {
  readonly proto: GraphProto;
  private producerIdx?: Map<string, NodeProto[]>;
  private consumerIdx?: Map<string, NodeProto[]>;
  private initIdx?: Map<string, TensorProto>;
  private constIdx?: Map<string, TensorProto | null>;

  constructor(proto: GraphProto) {
    this.proto = proto;
  }

  get nodes(): NodeProto[] {
    return this.proto.node as NodeProto[];
  }

  set nodes(nodes: NodeProto[]) {
    this.proto.node = nodes;
    this.invalidate();
  }

  /** Drops the cached indices; call after changing node inputs/outputs or the node list. */
  invalidate(): void {
    this.producerIdx = undefined;
    this.consumerIdx = undefined;
    this.initIdx = undefined;
    this.constIdx = undefined;
  }

  get initializers(): Map<string, TensorProto> {
    if (!this.initIdx) {
      this.initIdx = new Map();
      for (const t of this.proto.initializer) this.initIdx.set(t.name, t as TensorProto);
    }
    return this.initIdx;
  }

  isInitializer(name: string): boolean {
    return this.initializers.has(name);
  }

  /** Graph inputs that are not initializers. */
  get inputs(): ValueInfoProto[] {
    const inits = this.initializers;
    return (this.proto.input as ValueInfoProto[]).filter((i) => !inits.has(i.name));
  }

  get outputs(): ValueInfoProto[] {
    return this.proto.output as ValueInfoProto[];
  }

  outputNames(): Set<string> {
    return new Set(this.proto.output.map((o) => o.name));
  }

  private buildIndices(): void {
    const prod = new Map<string, NodeProto[]>();
    const cons = new Map<string, NodeProto[]>();
    for (const n of this.nodes) {
      for (const o of n.output) {
        if (!o) continue;
        const l = prod.get(o);
        if (l) l.push(n);
        else prod.set(o, [n]);
      }
      const seen = new Set<string>();
      for (const i of [...n.input, ...implicitInputsCached(n)]) {
        if (!i) continue;
        // A node that reads a tensor twice is listed twice, as onnx-graphsurgeon does.
        const l = cons.get(i);
        if (l) l.push(n);
        else cons.set(i, [n]);
        seen.add(i);
      }
    }
    this.producerIdx = prod;
    this.consumerIdx = cons;
  }

  /** Nodes writing `tensor` (more than one means a malformed graph). */
  producers(tensor: string): NodeProto[] {
    if (!this.producerIdx) this.buildIndices();
    return this.producerIdx!.get(tensor) ?? [];
  }

  /** The single producer of `tensor`, or undefined (graph input, initializer, or ambiguous). */
  producer(tensor: string): NodeProto | undefined {
    const p = this.producers(tensor);
    return p.length === 1 ? p[0] : undefined;
  }

  consumers(tensor: string): NodeProto[] {
    if (!this.consumerIdx) this.buildIndices();
    return this.consumerIdx!.get(tensor) ?? [];
  }

  /** Producers of the node's inputs (only tensors with exactly one producer). */
  parents(node: NodeProto): NodeProto[] {
    const out: NodeProto[] = [];
    for (const i of node.input) {
      const p = i ? this.producer(i) : undefined;
      if (p) out.push(p);
    }
    return out;
  }

  /** Consumers of every output, duplicates kept. */
  children(node: NodeProto): NodeProto[] {
    const out: NodeProto[] = [];
    for (const o of node.output) out.push(...this.consumers(o));
    return out;
  }

  /**
   * The constant value of a tensor: an initializer, or the output of a `Constant` node.
   * Returns undefined for anything computed at run time.
   */
  constantValue(tensor: string): TensorProto | undefined {
    if (!this.constIdx) this.constIdx = new Map();
    const cached = this.constIdx.get(tensor);
    if (cached !== undefined) return cached ?? undefined;
    let value: TensorProto | undefined = this.initializers.get(tensor);
    if (!value) {
      const p = this.producer(tensor);
      if (p && p.opType === 'Constant' && (p.domain === '' || p.domain === 'ai.onnx')) value = constantNodeValue(p.attribute as AttributeProto[], tensor);
    }
    this.constIdx.set(tensor, value ?? null);
    return value;
  }

  /** Sorts nodes topologically (stable: keeps the current order where it is valid). Throws on cycles. */
  toposort(): void {
    const nodes = this.nodes;
    const available = new Set<string>(['']);
    for (const i of this.proto.input) available.add(i.name);
    for (const t of this.proto.initializer) available.add(t.name);
    const producers = new Map<string, number>();
    nodes.forEach((n, idx) => n.output.forEach((o) => o && producers.set(o, idx)));
    const indeg = new Int32Array(nodes.length);
    const dependents: number[][] = nodes.map(() => []);
    nodes.forEach((n, idx) => {
      const deps = new Set<number>();
      for (const i of [...n.input, ...implicitInputsCached(n)]) {
        if (!i || available.has(i)) continue;
        const p = producers.get(i);
        if (p === undefined) continue; // dangling input: reported by validate()
        if (p !== idx) deps.add(p);
        else throw new InvalidArgument(`graph has a cycle: node "${n.name || n.opType}" reads its own output ${i}`);
      }
      indeg[idx] = deps.size;
      for (const d of deps) dependents[d]!.push(idx);
    });
    // Min-heap on original index keeps the order stable.
    const heap: number[] = [];
    const push = (v: number): void => {
      heap.push(v);
      let i = heap.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (heap[p]! <= v) break;
        heap[i] = heap[p]!;
        i = p;
      }
      heap[i] = v;
    };
    const pop = (): number => {
      const top = heap[0]!;
      const last = heap.pop()!;
      if (heap.length) {
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          let mv = last;
          if (l < heap.length && heap[l]! < mv) (m = l), (mv = heap[l]!);
          if (r < heap.length && heap[r]! < mv) (m = r), (mv = heap[r]!);
          if (m === i) break;
          heap[i] = heap[m]!;
          i = m;
        }
        heap[i] = last;
      }
      return top;
    };
    for (let i = 0; i < nodes.length; i++) if (indeg[i] === 0) push(i);
    const order: NodeProto[] = [];
    while (heap.length) {
      const idx = pop();
      order.push(nodes[idx]!);
      for (const d of dependents[idx]!) if (--indeg[d]! === 0) push(d);
    }
    if (order.length !== nodes.length) {
      const stuck = nodes.find((_, i) => indeg[i]! > 0)!;
      throw new InvalidArgument(`graph has a cycle through node "${stuck.name || stuck.opType}"`);
    }
    this.proto.node = order;
    this.invalidate();
  }

  /**
   * Structural checks: unique producers, no dangling inputs. Throws InvalidArgument naming the node.
   */
  validate(): void {
    const available = new Set<string>(['']);
    for (const i of this.proto.input) available.add(i.name);
    for (const t of this.proto.initializer) available.add(t.name);
    const produced = new Map<string, NodeProto>();
    for (const n of this.nodes) {
      for (const o of n.output) {
        if (!o) continue;
        const prev = produced.get(o);
        if (prev) throw new InvalidArgument(`tensor "${o}" is produced by two nodes: "${prev.name || prev.opType}" and "${n.name || n.opType}"`);
        if (available.has(o)) throw new InvalidArgument(`node "${n.name || n.opType}" writes "${o}", which is a graph input or initializer`);
        produced.set(o, n);
      }
    }
    for (const n of this.nodes) {
      for (const i of [...n.input, ...implicitInputsCached(n)]) {
        if (i && !available.has(i) && !produced.has(i)) throw new InvalidArgument(`node "${n.name || n.opType}" reads "${i}", which no node, input or initializer provides`);
      }
    }
    for (const o of this.proto.output) {
      if (!available.has(o.name) && !produced.has(o.name)) throw new InvalidArgument(`graph output "${o.name}" is never produced`);
    }
  }

  /** Removes nodes that no graph output depends on, then unused initializers and value_info. */
  cleanup(): void {
    const all = this.nodes;
    const { node, read } = neededForTargets(this.proto, this.proto.output.map((o) => o.name));
    this.proto.node = node;
    this.proto.initializer = this.proto.initializer.filter((t) => read.has(t.name));
    const alive = new Set<string>(read);
    for (const n of all) for (const o of n.output) alive.add(o);
    this.proto.valueInfo = this.proto.valueInfo.filter((v) => alive.has(v.name));
    this.invalidate();
  }

  /** A tensor name not used anywhere in the graph, derived from `base`. */
  uniqueName(base: string, taken?: Set<string>): string {
    const used = taken ?? this.allNames();
    if (!used.has(base)) {
      used.add(base);
      return base;
    }
    for (let k = 1; ; k++) {
      const c = `${base}_${k}`;
      if (!used.has(c)) {
        used.add(c);
        return c;
      }
    }
  }

  allNames(): Set<string> {
    const s = new Set<string>();
    for (const i of this.proto.input) s.add(i.name);
    for (const t of this.proto.initializer) s.add(t.name);
    for (const n of this.nodes) {
      for (const o of n.output) s.add(o);
      if (n.name) s.add(n.name);
    }
    return s;
  }

  addInitializer(t: TensorProto): void {
    this.proto.initializer = [...this.proto.initializer, t];
    this.initIdx?.set(t.name, t);
  }

  /** Rewrites every use of tensor `from` (node inputs, graph outputs stay) to `to`. */
  replaceUses(from: string, to: string, onlyIn?: NodeProto): void {
    const targets = onlyIn ? [onlyIn] : this.consumers(from);
    for (const n of targets) n.input = n.input.map((i) => (i === from ? to : i));
    this.invalidate();
  }
}

const implicitCache = new WeakMap<NodeProto, string[]>();
function implicitInputsCached(n: NodeProto): string[] {
  if (!n.attribute.some((a) => a.g || (a.graphs && a.graphs.length))) return [];
  let v = implicitCache.get(n);
  if (!v) {
    v = implicitInputs(n);
    implicitCache.set(n, v);
  }
  return v;
}
