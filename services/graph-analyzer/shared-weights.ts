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
  let consumers: { get(name: string): NodeProto[] | undefined };
  if (index && index.nodes === nodes) {
    consumers = {
      get: (name) => {
        const l = index.consumersOf(index.tensorId(name));
        return l.length < 2 ? undefined : Array.from(l, (i) => nodes[i]!);
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
  for (const init of graph.initializer) {
    const cs = consumers.get(init.name);
    if (!cs || cs.length < 2) continue;
    if (!LINEAR.has(cs[0]!.opType)) continue;
    if (!DUP_DTYPES.has(Number(init.dataType))) continue;
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
