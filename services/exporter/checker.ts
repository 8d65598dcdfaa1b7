/**
 * Structural checker for exported models: graph well formed (unique producers, no dangling inputs,
 * outputs produced), topologically sorted, initializer payloads consistent with their shapes and
 * types, IR version high enough for the opset, and Q/DQ nodes valid for the opset (zero-point types,
 * per-channel axis in range, blocked quantization, scale/zero-point shapes and types).
 */
import {
  DataType, Graph, attrInt, bitsPerElement, dataTypeName, defaultOpset, getAttr, numel, tensorDims,
  type GraphProto, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto,
} from '../core/onnx/index.js';

export interface CheckerReport {
  passed: boolean;
  errors: string[];
  warnings: string[];
}

const FLOAT_SCALE_TYPES = new Set<number>([DataType.FLOAT, DataType.FLOAT16, DataType.BFLOAT16]);
const TRT_INT4 = new Set(['TRT_INT4QuantizeLinear', 'TRT_INT4DequantizeLinear']);

function minIr(opset: number): number {
  if (opset >= 23) return 11;
  if (opset >= 21) return 10;
  if (opset >= 19) return 9;
  if (opset >= 15) return 8;
  if (opset >= 13) return 7;
  if (opset >= 10) return 5;
  return 3;
}

/** Minimum opset at which QuantizeLinear/DequantizeLinear accept this zero-point type. */
function zeroPointMinOpset(dt: number): number | undefined {
  switch (dt) {
    case DataType.INT8:
    case DataType.UINT8:
      return 10;
    case DataType.INT32:
      return 10; // DequantizeLinear only
    case DataType.FLOAT8E4M3FN:
    case DataType.FLOAT8E4M3FNUZ:
    case DataType.FLOAT8E5M2:
    case DataType.FLOAT8E5M2FNUZ:
      return 19;
    case DataType.INT16:
    case DataType.UINT16:
    case DataType.INT4:
    case DataType.UINT4:
      return 21;
    default:
      return undefined;
  }
}

export function checkModel(model: ModelProto): CheckerReport {
  const errors: string[] = [];
  const warnings: string[] = [];
  const graphProto = model.graph as GraphProto | null | undefined;
  if (!graphProto) return { passed: false, errors: ['model has no graph'], warnings };
  const graph = new Graph(graphProto);
  const opset = defaultOpset(model);
  if (opset <= 0) errors.push('no default-domain (ai.onnx) opset_import');
  const ir = Number(model.irVersion);
  if (ir < minIr(opset)) errors.push(`IR version ${ir} is too old for opset ${opset} (needs ${minIr(opset)})`);

  try {
    graph.validate();
  } catch (err) {
    errors.push((err as Error).message);
  }

  // Topological order.
  const available = new Set<string>(['']);
  for (const i of graphProto.input) available.add(i.name);
  for (const t of graphProto.initializer) available.add(t.name);
  const produced = new Set<string>();
  for (const n of graph.nodes) for (const o of n.output) produced.add(o);
  for (const n of graph.nodes) {
    for (const i of n.input) {
      if (i && !available.has(i) && produced.has(i)) {
        errors.push(`graph is not topologically sorted: node "${n.name || n.opType}" reads "${i}" before it is produced`);
        break;
      }
    }
    for (const o of n.output) available.add(o);
  }

  // Initializers: payload size vs dims and type.
  for (const t of graphProto.initializer as TensorProto[]) {
    const dt = Number(t.dataType);
    let bits: number;
    try {
      bits = bitsPerElement(dt);
    } catch {
      if (dt !== DataType.STRING) errors.push(`initializer ${t.name}: unknown data type ${dt}`);
      continue;
    }
    if (t.rawData && t.rawData.length) {
      const want = Math.ceil((numel(t.dims) * bits) / 8);
      if (t.rawData.length !== want) errors.push(`initializer ${t.name}: ${t.rawData.length} bytes of raw data, ${dataTypeName(dt)}${JSON.stringify(tensorDims(t))} needs ${want}`);
    }
    const needIr = dt === DataType.INT4 || dt === DataType.UINT4 ? 10 : dt >= DataType.FLOAT8E4M3FN && dt <= DataType.FLOAT8E5M2FNUZ ? 9 : 0;
    if (ir < needIr) errors.push(`initializer ${t.name}: ${dataTypeName(dt)} tensors need IR version ${needIr} (model has ${ir})`);
  }

  const known = new Map<string, ValueInfoProto>();
  for (const v of [...graphProto.input, ...graphProto.output, ...graphProto.valueInfo] as ValueInfoProto[]) known.set(v.name, v);
  const rankOf = (t: string): number | undefined => {
    const c = graph.constantValue(t);
    if (c) return c.dims.length;
    const dims = known.get(t)?.type?.tensorType?.shape?.dim;
    return dims ? dims.length : undefined;
  };
  const dimsOf = (t: string): number[] | undefined => {
    const c = graph.constantValue(t);
    return c ? tensorDims(c) : undefined;
  };

  for (const n of graph.nodes) {
    if (n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear') checkQdq(n, opset, graph, rankOf, dimsOf, errors);
    else if (TRT_INT4.has(n.opType)) warnings.push(`node "${n.name}": ${n.opType} is a TensorRT custom op (runs in TensorRT only)`);
  }
  return { passed: errors.length === 0, errors, warnings };
}

function checkQdq(
  n: NodeProto,
  opset: number,
  graph: Graph,
  rankOf: (t: string) => number | undefined,
  dimsOf: (t: string) => number[] | undefined,
  errors: string[],
): void {
  const where = `${n.opType} "${n.name}"`;
  if (n.domain && n.domain !== 'ai.onnx') return; // contrib ops: not ours to check
  if (opset < 10) {
    errors.push(`${where}: QuantizeLinear/DequantizeLinear need opset 10 (model has ${opset})`);
    return;
  }
  if (n.input.length < 2 || !n.input[1]) {
    errors.push(`${where}: missing scale input`);
    return;
  }
  const scale = graph.constantValue(n.input[1]);
  const zp = n.input[2] ? graph.constantValue(n.input[2]) : undefined;
  const axisAttr = getAttr(n, 'axis');
  const blockAttr = getAttr(n, 'block_size');
  const blockSize = blockAttr ? Number(blockAttr.i) : 0;
  if (axisAttr && opset < 13) errors.push(`${where}: the axis attribute needs opset 13 (model has ${opset})`);
  if (blockAttr && opset < 21) errors.push(`${where}: blocked quantization (block_size) needs opset 21 (model has ${opset})`);
  if (blockAttr && blockSize <= 0) errors.push(`${where}: block_size must be positive, got ${blockSize}`);
  if (scale && !FLOAT_SCALE_TYPES.has(Number(scale.dataType))) errors.push(`${where}: scale ${scale.name} has type ${dataTypeName(Number(scale.dataType))}, expected a float type`);
  if (scale && Number(scale.dataType) !== DataType.FLOAT && opset < 19) errors.push(`${where}: ${dataTypeName(Number(scale.dataType))} scales need opset 19`);
  if (zp) {
    const dt = Number(zp.dataType);
    const min = zeroPointMinOpset(dt);
    if (min === undefined || (dt === DataType.INT32 && n.opType === 'QuantizeLinear')) errors.push(`${where}: zero point type ${dataTypeName(dt)} is not allowed`);
    else if (opset < min) errors.push(`${where}: zero point type ${dataTypeName(dt)} needs opset ${min} (model has ${opset})`);
    if (scale && JSON.stringify(tensorDims(scale)) !== JSON.stringify(tensorDims(zp))) {
      errors.push(`${where}: scale shape ${JSON.stringify(tensorDims(scale))} and zero-point shape ${JSON.stringify(tensorDims(zp))} differ`);
    }
    if (n.opType === 'DequantizeLinear') {
      const x = graph.constantValue(n.input[0]!);
      if (x && Number(x.dataType) !== dt) errors.push(`${where}: input type ${dataTypeName(Number(x.dataType))} differs from zero-point type ${dataTypeName(dt)}`);
    }
  } else if (n.opType === 'QuantizeLinear' && opset >= 10) {
    // no zero point: uint8 output; fine.
  }
  if (!scale) return; // computed scale: shapes unknown statically
  const sRank = scale.dims.length;
  const xRank = rankOf(n.input[0]!);
  const axis = attrInt(n, 'axis', 1);
  const isPerTensor = sRank === 0 || (sRank === 1 && Number(scale.dims[0]) === 1 && !blockAttr);
  if (isPerTensor) return;
  if (xRank === undefined) return;
  const a = axis < 0 ? axis + xRank : axis;
  if (a < 0 || a >= xRank) {
    errors.push(`${where}: axis ${axis} out of range for input of rank ${xRank}`);
    return;
  }
  const xDims = dimsOf(n.input[0]!) ?? (n.opType === 'DequantizeLinear' ? undefined : dimsOf(graph.producer(n.input[0]!)?.input[0] ?? ''));
  if (blockAttr) {
    if (sRank !== xRank) errors.push(`${where}: blocked scale must have the input's rank ${xRank}, has ${sRank}`);
    else if (xDims) {
      const want = xDims.map((d, i) => (i === a ? Math.ceil(d / blockSize) : d));
      if (JSON.stringify(want) !== JSON.stringify(tensorDims(scale))) errors.push(`${where}: blocked scale shape ${JSON.stringify(tensorDims(scale))}, expected ${JSON.stringify(want)}`);
    }
  } else {
    if (sRank !== 1) errors.push(`${where}: per-axis scale must be 1-D, has rank ${sRank}`);
    else if (xDims && Number(scale.dims[0]) !== xDims[a]) errors.push(`${where}: per-axis scale has ${scale.dims[0]} entries, axis ${a} has ${xDims[a]}`);
  }
}
