/** Statistics of a quantized model, like the reference's summary. */
import { Graph, defaultOpset, type GraphProto, type ModelProto } from '../core/onnx/index.js';

const DQ_OPS = new Set(['DequantizeLinear', 'TRT_INT4DequantizeLinear', 'TRT_FP8DequantizeLinear']);
const Q_OPS = new Set(['QuantizeLinear', 'TRT_INT4QuantizeLinear', 'TRT_FP8QuantizeLinear']);

export interface ModelSummary {
  totalNodes: number;
  /** Names of the nodes (not Q/DQ) with an input produced by a dequantize op, sorted (`#i:Op` when unnamed). */
  quantizedNodes: string[];
  quantizedByOpType: Record<string, number>;
  quantizeNodes: number;
  dequantizeNodes: number;
  irVersion: number;
  opset: number;
}

export function summarize(model: ModelProto): ModelSummary {
  const graph = new Graph(model.graph as GraphProto);
  const quantized: string[] = [];
  const byOp: Record<string, number> = {};
  let q = 0;
  let dq = 0;
  graph.nodes.forEach((n, i) => {
    if (Q_OPS.has(n.opType)) return void q++;
    if (DQ_OPS.has(n.opType)) return void dq++;
    if (n.input.some((t) => t && DQ_OPS.has(graph.producer(t)?.opType ?? ''))) {
      quantized.push(n.name || `#${i}:${n.opType}`);
      byOp[n.opType] = (byOp[n.opType] ?? 0) + 1;
    }
  });
  return {
    totalNodes: graph.nodes.length,
    quantizedNodes: quantized.sort(),
    quantizedByOpType: byOp,
    quantizeNodes: q,
    dequantizeNodes: dq,
    irVersion: Number(model.irVersion),
    opset: defaultOpset(model),
  };
}

/** The reference prints counts per op type; this is that text. */
export function formatSummary(s: ModelSummary): string {
  const lines = [`Total number of nodes: ${s.totalNodes}`, `Total number of quantized nodes: ${s.quantizedNodes.length}`];
  const types = Object.keys(s.quantizedByOpType).sort();
  lines.push(`Quantized type counts: ${types.map((t) => `${t}: ${s.quantizedByOpType[t]}`).join(', ')}`);
  return lines.join('\n');
}
