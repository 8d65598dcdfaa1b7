/**
 * Node naming (SPEC §1): every unnamed node becomes `<OpType>_<k>`. k starts at the number of distinct existing
 * names (the empty name counts) and grows only when a candidate collides with a name already taken.
 */
import type { GraphProto } from '../core/onnx/index.js';

export interface RenamedNode {
  index: number;
  opType: string;
  name: string;
}

/** Names the unnamed nodes in place; returns the nodes it named (empty: nothing changed). */
export function nameNodes(graph: GraphProto): RenamedNode[] {
  const renamed: RenamedNode[] = [];
  const names = new Set<string>();
  for (const n of graph.node) names.add(n.name);
  let k = names.size;
  graph.node.forEach((n, index) => {
    if (n.name) return;
    let candidate = `${n.opType}_${k}`;
    while (names.has(candidate)) {
      k++;
      candidate = `${n.opType}_${k}`;
    }
    n.name = candidate;
    names.add(candidate);
    renamed.push({ index, opType: n.opType, name: candidate });
  });
  return renamed;
}
