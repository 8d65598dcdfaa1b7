/**
 * Reading the reference's goldens and deriving, from a golden, the selection the reference's analyzer
 * made (the goldens list the nodes fed by a DequantizeLinear and the DQ sources, not the selection).
 *
 * A selected node is a golden quantized node whose type onnxruntime's registry handles. When a tensor
 * has one shared (non-dedicated) pair, exactly one selected node read it and every other consumer
 * picked up the DQ output too; among the candidates we keep the one whose other inputs are all
 * quantized (linear ops first). No-quantize edges are the requested activation inputs of selected
 * nodes that have no DQ at all.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Graph, type GraphProto, type ModelProto } from '../../services/core/onnx/index.js';
import type { AnalysisResult, NoQuantizeEdge } from '../../services/core/quant-types.js';
import { DEFAULT_REGISTRY_OP_TYPES, inputRequests } from '../../services/quantizer/op-handlers.js';
import { GOLDENS_DIR } from './shared.js';

export interface GoldenDq {
  name: string;
  op_type: string;
  source: string;
  scale_shape: number[];
  scales: number[];
  zero_point_dtype: string;
  axis?: number;
  block_size?: number;
}
export interface Golden {
  model: string;
  quantize_mode: string;
  quantized_nodes: string[];
  dequantize: GoldenDq[];
  opset: number;
}

export function readGolden(file: string): Golden | undefined {
  const p = path.join(GOLDENS_DIR, file);
  return fs.existsSync(p) ? (JSON.parse(fs.readFileSync(p, 'utf8').replace(/\bNaN\b/g, 'null').replace(/-?\bInfinity\b/g, 'null')) as Golden) : undefined;
}

const LINEAR = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

export function deriveAnalysis(model: ModelProto, golden: Golden): AnalysisResult {
  const graph = new Graph(model.graph as GraphProto);
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const sources = new Set(golden.dequantize.map((d) => d.source));
  const shared = new Set(golden.dequantize.filter((d) => d.name === `${d.source}_DequantizeLinear`).map((d) => d.source));
  const selected = new Set(golden.quantized_nodes.filter((n) => byName.has(n) && DEFAULT_REGISTRY_OP_TYPES.has(byName.get(n)!.opType)));
  const isConst = (t: string): boolean => graph.constantValue(t) !== undefined;
  const allQuantized = (name: string): boolean => {
    const n = byName.get(name)!;
    return inputRequests(n, isConst, () => true).every((r) => sources.has(n.input[r.index]!));
  };
  for (const t of shared) {
    const readers = graph.consumers(t).map((n) => n.name).filter((n) => selected.has(n));
    const uniq = [...new Set(readers)];
    if (uniq.length <= 1) continue;
    const rank = (n: string): number => (allQuantized(n) ? 0 : 2) + (LINEAR.has(byName.get(n)!.opType) ? 0 : 1);
    uniq.sort((a, b) => rank(a) - rank(b));
    for (const n of uniq.slice(1)) selected.delete(n);
  }
  const edges: NoQuantizeEdge[] = [];
  for (const name of selected) {
    const n = byName.get(name)!;
    for (const r of inputRequests(n, isConst, () => true)) {
      const t = n.input[r.index]!;
      if (isConst(t) || sources.has(t) || n.opType === 'Clip') continue;
      const p = graph.producer(t);
      if (p) edges.push({ producer: p.name, consumer: name, tensor: t });
    }
  }
  const order = graph.nodes.map((n) => n.name).filter((n) => selected.has(n));
  return { quantizableNodes: order, noQuantizeEdges: edges, decisions: [], tensorsToCalibrate: [], opTypeCounts: {} };
}

/** What our model looks like in the goldens' terms. */
export function describeQdq(model: ModelProto): { quantizedNodes: string[]; dequantize: Map<string, { source: string; scaleShape: number[]; zpType: number; axis?: number; blockSize?: number; scales: Float32Array }> } {
  const graph = new Graph(model.graph as GraphProto);
  const isDq = (op: string): boolean => op === 'DequantizeLinear' || op === 'TRT_INT4DequantizeLinear';
  const quantizedNodes = graph.nodes
    .map((n, i) => ({ n, i }))
    .filter(({ n }) => !isDq(n.opType) && n.opType !== 'QuantizeLinear' && n.opType !== 'TRT_INT4QuantizeLinear' && n.input.some((t) => t && isDq(graph.producer(t)?.opType ?? '')))
    .map(({ n, i }) => n.name || `#${i}:${n.opType}`)
    .sort();
  const dequantize = new Map<string, { source: string; scaleShape: number[]; zpType: number; axis?: number; blockSize?: number; scales: Float32Array }>();
  for (const n of graph.nodes) {
    if (!isDq(n.opType)) continue;
    const q = graph.producer(n.input[0]!);
    const source = q && (q.opType === 'QuantizeLinear' || q.opType === 'TRT_INT4QuantizeLinear') ? q.input[0]! : n.input[0]!;
    const scale = graph.constantValue(n.input[1]!)!;
    const zp = n.input[2] ? graph.constantValue(n.input[2]) : undefined;
    const axisA = n.attribute.find((a) => a.name === 'axis');
    const bsA = n.attribute.find((a) => a.name === 'block_size');
    const raw = scale.rawData;
    dequantize.set(n.name, {
      source,
      scaleShape: scale.dims.map(Number),
      zpType: zp ? Number(zp.dataType) : 2,
      axis: axisA ? Number(axisA.i) : undefined,
      blockSize: bsA ? Number(bsA.i) : undefined,
      scales: new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)),
    });
  }
  return { quantizedNodes, dequantize };
}
