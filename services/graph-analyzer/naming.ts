/**
 * Node naming (SPEC §1): every unnamed node becomes `<OpType>_<k>`. k starts at the number of distinct existing
 * names (the empty name counts) and grows only when a candidate collides with a name already taken.
 */
import type { GraphProto } from '../core/onnx/index.js';

/** Names the unnamed nodes in place; returns whether anything changed. */
export function nameNodes(graph: GraphProto): boolean {
  const names = new Set<string>();
  for (const n of graph.node) names.add(n.name);
  let k = names.size;
  let changed = false;
  for (const n of graph.node) {
    if (n.name) continue;
    let candidate = `${n.opType}_${k}`;
    while (names.has(candidate)) {
      k++;
      candidate = `${n.opType}_${k}`;
    }
    n.name = candidate;
    names.add(candidate);
    changed = true;
  }
  return changed;
}
