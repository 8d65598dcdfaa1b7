/**
 * Node naming (SPEC §1): every unnamed node becomes `<OpType>_<k>`. k starts at the number of distinct existing
 * names (the empty name counts) and grows only when a candidate collides with a name already taken.
 */
import type { GraphProto, NodeProto } from '../core/onnx/index.js';
import { hashName } from './name-table.js';

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
  const names = existingNames(graph.node);
  let k = names.distinct;
  const lastK = new Map<string, number>();
  graph.node.forEach((n, index) => {
    if (n.name) return;
    const op = n.opType;
    let candidate = `${op}_${k}`;
    while (lastK.get(op) === k || names.has(candidate)) {
      k++;
      candidate = `${op}_${k}`;
    }
    lastK.set(op, k);
    n.name = candidate;
    renamed.push({ index, opType: op, name: candidate });
  });
  return renamed;
}

/**
 * The distinct existing node names (the empty name counts as one) and a membership test: an open-addressing
 * table of node indices over an Int32Array, the nodes' own strings compared on a probe. A JS Set of every
 * name cost ~50 MB of large-object allocations at a million nodes (its backing store, rebuilt as it grew),
 * which was enough to force a full collection of the whole model heap during Prepare.
 */
function existingNames(nodes: readonly NodeProto[]): { distinct: number; has(s: string): boolean } {
  let size = 16;
  while (size < nodes.length * 2) size *= 2;
  const slots = new Int32Array(size).fill(-1);
  const mask = size - 1;
  let distinct = 0;
  let empty = false;
  for (let i = 0; i < nodes.length; i++) {
    const s = nodes[i]!.name;
    if (!s) {
      empty = true;
      continue;
    }
    let h = hashName(s) & mask;
    for (;;) {
      const j = slots[h]!;
      if (j < 0) {
        slots[h] = i;
        distinct++;
        break;
      }
      if (nodes[j]!.name === s) break;
      h = (h + 1) & mask;
    }
  }
  // only named nodes are in the table, so renaming the unnamed ones (as naming goes on) leaves it valid
  const has = (s: string): boolean => {
    if (!s) return empty;
    let h = hashName(s) & mask;
    for (;;) {
      const j = slots[h]!;
      if (j < 0) return false;
      if (nodes[j]!.name === s) return true;
      h = (h + 1) & mask;
    }
  };
  return { distinct: distinct + (empty ? 1 : 0), has };
}
