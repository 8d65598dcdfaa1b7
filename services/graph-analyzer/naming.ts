/**
 * Node naming (SPEC §1): every unnamed node becomes `<OpType>_<k>`. k starts at the number of distinct existing
 * names (the empty name counts) and grows only when a candidate collides with a name already taken.
 */
import type { GraphProto } from '../core/onnx/index.js';
import { NameTable } from './name-table.js';

export interface RenamedNode {
  index: number;
  opType: string;
  name: string;
}

/** Names the unnamed nodes in place; returns the nodes it named (empty: nothing changed). */
export function nameNodes(graph: GraphProto): RenamedNode[] {
  const renamed: RenamedNode[] = [];
  if (graph.node.every((n) => n.name)) return renamed;
  // existing names only: a new name can collide with an earlier new one only when both have the same op
  // type and the same k (k never decreases), which `lastK` tells without a set of every new name
  // (interned into a NameTable, sized once: a JS Set of every name cost ~50 MB of large-object allocations at a
  // million nodes, its backing store rebuilt as it grew, enough to force a full collection during Prepare)
  const names = new NameTable(graph.node.length);
  for (let i = 0; i < graph.node.length; i++) names.intern(graph.node[i]!.name);
  let k = names.size;
  const lastK = new Map<string, number>();
  graph.node.forEach((n, index) => {
    if (n.name) return;
    const op = n.opType;
    let candidate = `${op}_${k}`;
    while (lastK.get(op) === k || names.get(candidate) >= 0) {
      k++;
      candidate = `${op}_${k}`;
    }
    lastK.set(op, k);
    n.name = candidate;
    renamed.push({ index, opType: op, name: candidate });
  });
  return renamed;
}
