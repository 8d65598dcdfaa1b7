/**
 * Removing the Q/DQ on the analyzer's no-quantize edges (producer → consumer through tensor).
 *
 * The reference follows the producer's first consumer and that node's first consumer and, when it is
 * a DequantizeLinear, rewires every consumer of that DQ back to the raw tensor. With dedicated pairs
 * that can strip the pair of a different consumer. We remove exactly the pair that feeds the named
 * consumer (docs/compatibility.md, "quantizer"). A shared (non-dedicated) pair feeds the named
 * consumer and nodes that picked up its output only because onnxruntime rewires every consumer; as in
 * the reference, all of them go back to the raw tensor.
 */
import { Graph, type GraphProto } from '../core/onnx/index.js';
import type { NoQuantizeEdge } from '../core/quant-types.js';
import { DEQUANTIZE_OPS, QUANTIZE_OPS, dequantOutputName } from './naming.js';

export interface RemovalResult {
  removed: NoQuantizeEdge[];
  /** Edges whose consumer does not read a dequantized copy of the tensor. */
  notFound: NoQuantizeEdge[];
}

export function removeNoQuantizeEdges(graphProto: GraphProto, edges: readonly NoQuantizeEdge[]): RemovalResult {
  const graph = new Graph(graphProto);
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const removed: NoQuantizeEdge[] = [];
  const notFound: NoQuantizeEdge[] = [];
  for (const e of edges) {
    const consumer = byName.get(e.consumer);
    let hit = false;
    if (consumer) {
      consumer.input = consumer.input.map((inp) => {
        const dq = inp ? graph.producer(inp) : undefined;
        if (!dq || !DEQUANTIZE_OPS.has(dq.opType)) return inp;
        const q = dq.input[0] ? graph.producer(dq.input[0]) : undefined;
        if (!q || !QUANTIZE_OPS.has(q.opType) || q.input[0] !== e.tensor) return inp;
        hit = true;
        return e.tensor;
      });
    }
    if (hit) {
      const shared = dequantOutputName(e.tensor);
      const dq = graph.producer(shared);
      if (dq && DEQUANTIZE_OPS.has(dq.opType)) {
        for (const n of graph.consumers(shared)) n.input = n.input.map((i) => (i === shared ? e.tensor : i));
      }
    }
    (hit ? removed : notFound).push(e);
  }
  graph.invalidate();
  // Drop the Q/DQ nodes nobody reads any more (and their scale/zero-point initializers).
  graph.cleanup();
  return { removed, notFound };
}
