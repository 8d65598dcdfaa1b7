/**
 * INT4 weight-only quantization of Gemm/MatMul weights (RTN and AWQ-clip), written as packed INT4
 * initializers behind DequantizeLinear (the *_dq and AWQ modes) or as Q→DQ around the float weight
 * (int4_rtn, int4_rtn_trt). Standard ops get axis and block_size (opset 21); the TRT custom ops
 * (TRT_INT4QuantizeLinear / TRT_INT4DequantizeLinear, no domain) keep the reference's bare form.
 */
import { FailedPrecondition, InvalidArgument } from '../core/errors.js';
import {
  DataType, Graph, attrInt, makeFloatTensor, makeFloat16Tensor, makeNode, makeTensor, tensorDims, tensorToFloat32,
  type GraphProto, type ModelProto, type NodeProto, type TensorProto,
} from '../core/onnx/index.js';
import type { CapturedActivation, QuantizeMode } from '../core/quant-types.js';
import * as N from './naming.js';
import { packInt4 } from './int4-pack.js';
import { INT4_BLOCK_SIZE, int4BlockScales, int4QuantizeBlocks, numBlocks, transpose2d } from './int4-rtn.js';
import { awqClipSearch } from './int4-awq.js';
import { raiseOpset } from './opset-upgrade.js';

export type Int4Mode = Extract<QuantizeMode, `int4_${string}`>;

export interface Int4Options {
  blockSize?: number;
  /** Captured activations (AWQ): keyed by the activation tensor name (input 0 of the Gemm/MatMul). */
  activations?: readonly CapturedActivation[];
}

export interface Int4WeightInfo {
  weight: string;
  node: string;
  activation: string;
  /** Weight shape as stored. */
  dims: number[];
  /** Block axis in the stored layout (0, or 1 for Gemm transB). */
  axis: number;
  scaleDims: number[];
  scales: Float32Array;
  /** Chosen α per (block, cout) for AWQ, else undefined. */
  alphas?: Float32Array;
  /** Quantized codes in the stored layout. */
  codes: Int8Array;
}

export interface Int4Result {
  weights: Int4WeightInfo[];
  skipped: { weight: string; node: string; reason: string }[];
  nativeSearch: boolean;
}

interface Target {
  node: NodeProto;
  weight: string;
  value: TensorProto;
  transposed: boolean;
}

export function isAwqMode(mode: Int4Mode): boolean {
  return mode === 'int4_awq_clip' || mode === 'int4_awq_clip_trt';
}
function isTrtMode(mode: Int4Mode): boolean {
  return mode.includes('_trt');
}
function isDqOnly(mode: Int4Mode): boolean {
  return mode === 'int4_rtn_dq' || mode === 'int4_rtn_trt_dq' || isAwqMode(mode);
}

/** Gemm/MatMul weights (input 1) that INT4 quantizes, with the reasons others are skipped. */
export function findInt4Targets(graph: Graph, awq: boolean): { targets: Target[]; skipped: Int4Result['skipped'] } {
  const targets: Target[] = [];
  const skipped: Int4Result['skipped'] = [];
  const seen = new Set<string>();
  for (const node of graph.nodes) {
    if (node.opType !== 'Gemm' && node.opType !== 'MatMul') continue;
    const w = node.input[1];
    if (!w) continue;
    const value = graph.constantValue(w);
    if (!value) continue;
    const dt = Number(value.dataType);
    if (dt !== DataType.FLOAT && dt !== DataType.FLOAT16) {
      skipped.push({ weight: w, node: node.name, reason: `weight type ${dt} is not float` });
      continue;
    }
    if (value.dims.length !== 2) {
      skipped.push({ weight: w, node: node.name, reason: `weight has rank ${value.dims.length}; INT4 blocks need a 2-D weight` });
      continue;
    }
    if (awq && node.input[0] && graph.constantValue(node.input[0])) {
      skipped.push({ weight: w, node: node.name, reason: 'input A is constant (no activation to search on)' });
      continue;
    }
    if (node.opType === 'Gemm' && attrInt(node, 'transA', 0)) {
      skipped.push({ weight: w, node: node.name, reason: 'Gemm with transA is not supported' });
      continue;
    }
    if (seen.has(w)) continue;
    seen.add(w);
    targets.push({ node, weight: w, value, transposed: node.opType === 'Gemm' && attrInt(node, 'transB', 0) > 0 });
  }
  return { targets, skipped };
}

/** Quantizes `model` in place. */
export async function quantizeInt4(model: ModelProto, mode: Int4Mode, opts: Int4Options = {}): Promise<Int4Result> {
  const blockSize = opts.blockSize ?? INT4_BLOCK_SIZE;
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > 1 << 20) {
    throw new InvalidArgument(`INT4 block size must be a positive integer, got ${blockSize}`);
  }
  const graphProto = model.graph as GraphProto;
  const graph = new Graph(graphProto);
  const awq = isAwqMode(mode);
  const { targets, skipped } = findInt4Targets(graph, awq);
  if (targets.length === 0) {
    const why = skipped.length ? `: ${skipped.map((s) => `${s.weight} (${s.reason})`).join('; ')}` : '';
    throw new FailedPrecondition(`no Gemm/MatMul weight can be quantized to INT4${why}`);
  }
  const trt = isTrtMode(mode);
  if (!trt) {
    raiseOpset(model, 21, `${mode} (blocked INT4 DequantizeLinear)`);
    if (Number(model.irVersion) < 10) model.irVersion = 10;
  }
  const acts = new Map<string, CapturedActivation>();
  for (const a of opts.activations ?? []) acts.set(a.tensor, a);

  const qOp = trt ? N.TRT_INT4_QUANTIZE_OP : N.QUANTIZE_OP;
  const dqOp = trt ? N.TRT_INT4_DEQUANTIZE_OP : N.DEQUANTIZE_OP;
  const dqOnly = isDqOnly(mode);
  const weights: Int4WeightInfo[] = [];
  const newNodes: NodeProto[] = [];
  let nativeSearch = false;

  for (const t of targets) {
    const dims = tensorDims(t.value);
    const stored = tensorToFloat32(t.value);
    const [r, c] = [dims[0]!, dims[1]!];
    const cin = t.transposed ? c : r;
    const cout = t.transposed ? r : c;
    const w = t.transposed ? transpose2d(stored, r, c) : stored;
    let alphas: Float32Array | undefined;
    const actName = t.node.input[0] ?? '';
    if (awq) {
      const a = acts.get(actName);
      if (!a) throw new FailedPrecondition(`AWQ needs the captured activation "${actName}" (input of "${t.node.name}"); capture it with the calibrator`);
      const last = a.shape[a.shape.length - 1];
      if (last !== cin) {
        throw new InvalidArgument(`captured activation "${actName}" has ${last} channels, weight ${t.weight} expects ${cin}`);
      }
      const tokens = a.data.length / cin;
      if (!Number.isInteger(tokens) || tokens < 1) throw new InvalidArgument(`captured activation "${actName}" has ${a.data.length} values, not a multiple of ${cin}`);
      const res = await awqClipSearch(w, cin, cout, a.data, tokens, blockSize);
      nativeSearch ||= res.native;
      alphas = res.alphas;
    }
    const scales = int4BlockScales(w, cin, cout, blockSize, alphas ?? 1);
    const q = int4QuantizeBlocks(w, cin, cout, scales, blockSize);
    const nb = numBlocks(cin, blockSize);
    const codes = t.transposed ? transpose2d(q, cin, cout) : q;
    const scaleStore = t.transposed ? transpose2d(scales, nb, cout) : scales;
    const scaleDims = t.transposed ? [cout, nb] : [nb, cout];
    const axis = t.transposed ? 1 : 0;

    const name = t.weight;
    const scaleT = N.int4ScaleName(name);
    const zpT = N.int4ZeroPointName(name);
    const dqOut = N.dequantOutputName(name);
    const isF16 = Number(t.value.dataType) === DataType.FLOAT16;
    graph.addInitializer(isF16 ? makeFloat16Tensor(scaleT, scaleDims, scaleStore) : makeFloatTensor(scaleT, scaleDims, scaleStore));
    graph.addInitializer(makeTensor(zpT, DataType.INT4, scaleDims, new Uint8Array(Math.ceil(scaleStore.length / 2))));
    const attrs: Record<string, number> = trt ? {} : { axis, block_size: blockSize };
    let dqIn: string;
    if (dqOnly) {
      dqIn = N.int4WeightName(name);
      graph.addInitializer(makeTensor(dqIn, DataType.INT4, dims, packInt4(codes)));
    } else {
      dqIn = N.quantOutputName(name);
      newNodes.push(makeNode(qOp, [name, scaleT, zpT], [dqIn], N.quantNodeName(name), attrs));
    }
    for (const n of graph.consumers(name)) n.input = n.input.map((i) => (i === name ? dqOut : i));
    newNodes.push(makeNode(dqOp, [dqIn, scaleT, zpT], [dqOut], N.dequantNodeName(name), attrs));
    weights.push({ weight: name, node: t.node.name, activation: actName, dims, axis, scaleDims, scales: scaleStore, alphas, codes });
  }
  graphProto.node = [...graphProto.node, ...newNodes];
  graph.invalidate();
  graph.toposort();
  graph.cleanup();
  return { weights, skipped, nativeSearch };
}
