/**
 * Shared-weight duplication (SPEC §1): an initializer whose first consumer is Conv, MatMul or Gemm and whose dtype is
 * bf16, f16, f32 or f64 gets one copy per further consumer (`<init>_1`, `<init>_2`, ...); in each of those consumers
 * the first input reading it is repointed to its copy. Copies share the payload bytes (they are never mutated).
 */
import type { GraphProto, TensorProto, NodeProto } from '../core/onnx/index.js';
import { onnx, DataType } from '../core/onnx/index.js';
import type { AGraph } from './agraph.js';

const DUP_DTYPES = new Set<number>([DataType.BFLOAT16, DataType.FLOAT16, DataType.FLOAT, DataType.DOUBLE]);
const LINEAR = new Set(['Conv', 'MatMul', 'Gemm']);

export interface DuplicatedWeight {
  original: string;
  copy: string;
  consumer: string;
}

/** Duplicates in place; returns the copies made (empty: nothing changed). */
export function duplicateSharedWeights(graph: GraphProto, index?: AGraph): DuplicatedWeight[] {
  const made: DuplicatedWeight[] = [];
  // consumers of initializers only, in node order (from the analysis index of this very graph when given)
  const nodes = graph.node;
  // (with the index, the count and the first consumer are read in place: a list is built only for a weight
  // that is duplicated, not for every initializer, nor for a norm parameter shared by every block of the model)
  let consumers: { get(name: string): NodeProto[] | undefined };
  if (index && index.nodes === nodes) {
    consumers = {
      get: (name) => {
        const id = index.tensorId(name);
        if (id < 0) return undefined;
        const start = index.consumerStart(id);
        const end = index.consumerEnd(id);
        if (end - start < 2 || !LINEAR.has(index.ops[index.consumerAt(start)]!)) return undefined;
        const l: NodeProto[] = [];
        for (let k = start; k < end; k++) l.push(nodes[index.consumerAt(k)]!);
        return l;
      },
    };
  } else {
    const m = new Map<string, NodeProto[]>();
    for (const t of graph.initializer) m.set(t.name, []);
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      const ins = n.input;
      for (let k = 0; k < ins.length; k++) m.get(ins[k]!)?.push(n);
    }
    consumers = m;
  }
  const added: TensorProto[] = [];
  const inits = graph.initializer;
  for (let q = 0; q < inits.length; q++) {
    const init = inits[q]!;
    if (!DUP_DTYPES.has(Number(init.dataType))) continue;
    const cs = consumers.get(init.name);
    if (!cs || cs.length < 2) continue;
    if (!LINEAR.has(cs[0]!.opType)) continue;
    for (let k = 1; k < cs.length; k++) {
      const copy = Object.assign(onnx.TensorProto.create(), init, { name: `${init.name}_${k}` }) as TensorProto;
      added.push(copy);
      const node = cs[k]!;
      const idx = node.input.indexOf(init.name);
      const ins = [...node.input];
      ins[idx] = copy.name;
      node.input = ins;
      made.push({ original: init.name, copy: copy.name, consumer: node.name });
    }
  }
  if (added.length) graph.initializer = [...graph.initializer, ...added];
  return made;
}
