/**
 * Explicit Q/DQ insertion for INT8 and FP8 (E4M3FN), the way the reference drives onnxruntime's QDQ
 * quantizer: symmetric activations, weights kept in float behind a Q→DQ pair, dedicated pairs when a
 * tensor feeds several selected nodes, no bias and no output quantization.
 */
import { FailedPrecondition, InvalidArgument } from '../core/errors.js';
import {
  DataType, Graph, makeNode, makeTensor, makeFloatTensor, makeFloat16Tensor, tensorDims, tensorToFloat32,
  type GraphProto, type NodeProto, type TensorProto, type ValueInfoProto,
} from '../core/onnx/index.js';
import type { TensorRange } from '../core/quant-types.js';
import { inputRequests } from './op-handlers.js';
import * as N from './naming.js';
import { perChannelInt8Scales, perTensorInt8Scale, symmetricInt8Scale } from './weight-scales.js';
import { fp8ScaleFromStd, fp8WeightScale } from './fp8.js';

export type QdqPrecision = 'int8' | 'fp8';

export interface QdqInsertOptions {
  precision: QdqPrecision;
  /** Names of the nodes to quantize. */
  nodesToQuantize: ReadonlySet<string>;
  /** Op types a node may have (onnxruntime's op_types_to_quantize). */
  opTypesToQuantize: ReadonlySet<string>;
  nodesToExclude: ReadonlySet<string>;
  ranges: Readonly<Record<string, TensorRange>>;
  perChannel: boolean;
  opset: number;
}

export interface QuantizedTensorInfo {
  tensor: string;
  kind: 'activation' | 'weight' | 'constant-activation';
  axis?: number;
  /** Scale values (one for per-tensor). */
  scales: Float32Array;
  /** Names of the DQ nodes made for it. */
  dequantizeNodes: string[];
}

export interface QdqInsertResult {
  tensors: QuantizedTensorInfo[];
  /** Selected node names absent from the graph. */
  unknownNodes: string[];
  warnings: string[];
}

interface Mark {
  kind: 'activation' | 'weight' | 'constant-activation';
  axis?: number;
}

const FLOAT_TYPES = new Set<number>([DataType.FLOAT, DataType.FLOAT16]);

function elemTypeOf(v: ValueInfoProto): number | undefined {
  const t = v.type?.tensorType?.elemType;
  return t ? Number(t) : undefined;
}

/** Inserts Q/DQ pairs into `graphProto` in place. */
export function insertQdq(graphProto: GraphProto, opts: QdqInsertOptions): QdqInsertResult {
  const graph = new Graph(graphProto);
  const warnings: string[] = [];
  const known = new Map<string, number>();
  for (const v of [...graphProto.input, ...graphProto.output, ...graphProto.valueInfo] as ValueInfoProto[]) {
    const t = elemTypeOf(v);
    if (t !== undefined) known.set(v.name, t);
  }
  const constantOf = (t: string): TensorProto | undefined => {
    const c = graph.constantValue(t);
    return c && FLOAT_TYPES.has(Number(c.dataType)) ? c : undefined;
  };
  const isAnyConstant = (t: string): boolean => graph.constantValue(t) !== undefined;
  const isFloatActivation = (t: string): boolean => {
    if (opts.ranges[t]) return true;
    const k = known.get(t);
    return k !== undefined && FLOAT_TYPES.has(k);
  };

  const present = new Set(graph.nodes.map((n) => n.name));
  const unknownNodes = [...opts.nodesToQuantize].filter((n) => !present.has(n));

  const marks = new Map<string, Mark>();
  const receiving = new Map<string, NodeProto[]>();
  const dqOutputs = new Set<string>();
  for (const node of graph.nodes) {
    if (N.DEQUANTIZE_OPS.has(node.opType)) for (const o of node.output) dqOutputs.add(o);
    const selected =
      opts.nodesToQuantize.has(node.name) &&
      opts.opTypesToQuantize.has(node.opType) &&
      !opts.nodesToExclude.has(node.name) &&
      !N.QUANTIZE_OPS.has(node.opType) &&
      !N.DEQUANTIZE_OPS.has(node.opType);
    if (!selected) continue;
    // onnxruntime's MaxPool handler skips opsets below 12 and float8.
    const skipAll = node.opType === 'MaxPool' && (opts.opset < 12 || opts.precision === 'fp8');
    const requests = skipAll ? [] : inputRequests(node, isAnyConstant, (t) => marks.has(t));
    for (const r of requests) {
      const t = node.input[r.index]!;
      const c = constantOf(t);
      if (c) {
        const rank = c.dims.length;
        if (r.role === 'weight') {
          const perChannel = opts.perChannel && r.axis !== undefined && r.axis < rank;
          if (perChannel) marks.set(t, { kind: 'weight', axis: r.axis });
          else if (!marks.has(t)) marks.set(t, { kind: 'weight' });
        } else if (!marks.has(t)) {
          marks.set(t, { kind: 'constant-activation' });
        }
        continue;
      }
      if (isAnyConstant(t)) continue; // a non-float constant (shape, indices): never quantized
      if (node.opType === 'ConvTranspose' && r.role === 'weight' && opts.perChannel) {
        warnings.push(`ConvTranspose "${node.name}": weight ${t} is not constant, left unquantized`);
        continue;
      }
      if (!isFloatActivation(t)) {
        if (!known.has(t)) warnings.push(`tensor "${t}" (input of "${node.name}") has no calibration range and no known type; left unquantized`);
        continue;
      }
      if (!marks.has(t)) marks.set(t, { kind: 'activation' });
    }
    for (const t of node.input) {
      if (!t) continue;
      const l = receiving.get(t);
      if (l) l.push(node);
      else receiving.set(t, [node]);
    }
  }

  const newNodes: NodeProto[] = [];
  const tensors: QuantizedTensorInfo[] = [];
  const graphOutputs = graph.outputNames();
  const zpType = opts.precision === 'fp8' ? DataType.FLOAT8E4M3FN : DataType.INT8;

  const addScaleZp = (t: string, scales: Float32Array, perChannel: boolean, scaleType: number): { scale: string; zp: string } => {
    const dims = perChannel ? [scales.length] : [];
    const scale = N.scaleName(t);
    const zp = N.zeroPointName(t);
    graph.addInitializer(scaleType === DataType.FLOAT16 ? makeFloat16Tensor(scale, dims, scales) : makeFloatTensor(scale, dims, scales));
    graph.addInitializer(makeTensor(zp, zpType, dims, new Uint8Array(scales.length)));
    return { scale, zp };
  };
  const pair = (qIn: string, t: string, postfix: string, dqOut: string, scale: string, zp: string, axis?: number): string => {
    const attrs: Record<string, number> = axis === undefined ? {} : { axis };
    const qOut = N.quantOutputName(t, postfix);
    const dqName = N.dequantNodeName(t, postfix);
    newNodes.push(makeNode(N.QUANTIZE_OP, [qIn, scale, zp], [qOut], N.quantNodeName(t, postfix), attrs));
    newNodes.push(makeNode(N.DEQUANTIZE_OP, [qOut, scale, zp], [dqOut], dqName, attrs));
    return dqName;
  };
  const replaceIn = (node: NodeProto, from: string, to: string): void => {
    node.input = node.input.map((i) => (i === from ? to : i));
  };

  const missing: string[] = [];
  for (const [t, mark] of marks) {
    if (dqOutputs.has(t)) continue; // already a dequantized value
    const consumers = [...graph.consumers(t)];
    if (mark.kind !== 'activation') {
      const c = constantOf(t)!;
      const values = tensorToFloat32(c);
      const dims = tensorDims(c);
      let scales: Float32Array;
      if (opts.precision === 'fp8') scales = Float32Array.of(fp8WeightScale(values));
      else if (mark.axis !== undefined) scales = perChannelInt8Scales(values, dims, mark.axis);
      else scales = Float32Array.of(perTensorInt8Scale(values));
      const { scale, zp } = addScaleZp(t, scales, mark.axis !== undefined, Number(c.dataType));
      const dqOut = N.dequantOutputName(t);
      for (const n of consumers) replaceIn(n, t, dqOut);
      const dq = pair(t, t, '', dqOut, scale, zp, mark.axis);
      tensors.push({ tensor: t, kind: mark.kind, axis: mark.axis, scales, dequantizeNodes: [dq] });
      continue;
    }
    const range = opts.ranges[t];
    if (!range) {
      missing.push(t);
      continue;
    }
    let s: number;
    if (opts.precision === 'fp8') {
      if (range.scale === undefined || !Number.isFinite(range.scale)) {
        throw new FailedPrecondition(`FP8 needs distribution statistics for tensor "${t}" (TensorRange.scale); calibrate with method "distribution"`);
      }
      s = range.scale > 0 ? Math.fround(range.scale) : 1;
    } else {
      s = symmetricInt8Scale(range.low, range.high);
    }
    const scales = Float32Array.of(s);
    const scaleType = known.get(t) === DataType.FLOAT16 ? DataType.FLOAT16 : DataType.FLOAT;
    const { scale, zp } = addScaleZp(t, scales, false, scaleType);
    const recv = receiving.get(t) ?? [];
    const dqs: string[] = [];
    if (recv.length > 1) {
      recv.forEach((node, i) => {
        const postfix = `_${i + 1}`;
        const dqOut = N.dequantOutputName(t, postfix);
        dqs.push(pair(t, t, postfix, dqOut, scale, zp));
        replaceIn(node, t, dqOut);
      });
    } else if (graphOutputs.has(t)) {
      const qIn = N.quantInputName(t);
      for (const p of graph.producers(t)) p.output = p.output.map((o) => (o === t ? qIn : o));
      // The DQ writes the graph output name, so every consumer reads the dequantized value.
      dqs.push(pair(qIn, t, '', t, scale, zp));
    } else {
      const dqOut = N.dequantOutputName(t);
      for (const n of consumers) replaceIn(n, t, dqOut);
      dqs.push(pair(t, t, '', dqOut, scale, zp));
    }
    tensors.push({ tensor: t, kind: 'activation', scales, dequantizeNodes: dqs });
  }
  if (missing.length) {
    throw new FailedPrecondition(
      `no calibration range for ${missing.length} activation tensor(s) that selected nodes read: ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', ...' : ''}`,
    );
  }
  if (opts.nodesToQuantize.size && unknownNodes.length === opts.nodesToQuantize.size) {
    throw new InvalidArgument(`none of the ${unknownNodes.length} nodes to quantize exists in the graph (first: "${unknownNodes[0]}")`);
  }
  graphProto.node = [...graphProto.node, ...newNodes];
  graph.invalidate();
  graph.toposort();
  return { tensors, unknownNodes, warnings };
}
