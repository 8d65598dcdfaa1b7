/**
 * Element-type inference: the dtype of every tensor, from initializers, declared value_info/inputs/outputs and
 * Constant nodes, propagated through the nodes in topological order with per-op rules. Unknown stays undefined
 * (the reference's quantizer skips tensors whose type shape inference could not find).
 */
import type { GraphProto, NodeProto, ValueInfoProto } from '../core/onnx/index.js';
import { DataType, attrInt } from '../core/onnx/index.js';
import type { AGraph } from './agraph.js';

const INT64_OUT = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin', 'NonMaxSuppression']);
const BOOL_OUT = new Set(['Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf']);

const SPECIAL = new Set([
  'Cast', 'CastLike', 'Constant', 'ConstantOfShape', 'TopK', 'MaxPool', 'Where', 'DequantizeLinear', 'QuantizeLinear', 'EyeLike',
  'RandomNormalLike', 'RandomUniformLike', 'RandomNormal', 'RandomUniform', 'Dropout', 'If', 'Loop', 'Scan', ...INT64_OUT, ...BOOL_OUT,
]);

function declared(v: ValueInfoProto): number | undefined {
  const e = v.type?.tensorType?.elemType;
  return e ? Number(e) : undefined;
}

function specialOutputs(n: NodeProto, op: string, types: { get(name: string): number | undefined }): (number | undefined)[] {
  const outs: (number | undefined)[] = [];
  const inType = (k: number): number | undefined => (n.input[k] ? types.get(n.input[k]!) : undefined);
  switch (op) {
    case 'Cast':
      outs.push(attrInt(n, 'to', 0) || undefined);
      break;
    case 'CastLike':
      outs.push(inType(1));
      break;
    case 'Constant': {
      const a = n.attribute.find((x) => x.name.startsWith('value') || x.name === 'sparse_value');
      if (!a) break;
      if (a.name === 'value' && a.t) outs.push(Number(a.t.dataType));
      else if (a.name === 'value_float' || a.name === 'value_floats') outs.push(DataType.FLOAT);
      else if (a.name === 'value_int' || a.name === 'value_ints') outs.push(DataType.INT64);
      else if (a.name === 'value_string' || a.name === 'value_strings') outs.push(DataType.STRING);
      break;
    }
    case 'ConstantOfShape': {
      const a = n.attribute.find((x) => x.name === 'value');
      outs.push(a?.t ? Number(a.t.dataType) : DataType.FLOAT);
      break;
    }
    case 'TopK':
      outs.push(inType(0), DataType.INT64);
      break;
    case 'MaxPool':
      outs.push(inType(0), DataType.INT64);
      break;
    case 'Where':
      outs.push(inType(1) ?? inType(2));
      break;
    case 'DequantizeLinear':
      outs.push(inType(1) ?? DataType.FLOAT);
      break;
    case 'QuantizeLinear':
      outs.push(inType(2) ?? DataType.UINT8);
      break;
    case 'EyeLike':
    case 'RandomNormalLike':
    case 'RandomUniformLike':
      outs.push(attrInt(n, 'dtype', 0) || inType(0));
      break;
    case 'RandomNormal':
    case 'RandomUniform':
      outs.push(attrInt(n, 'dtype', DataType.FLOAT));
      break;
    case 'Dropout':
      outs.push(inType(0), DataType.BOOL);
      break;
    default:
      if (INT64_OUT.has(op)) outs.push(DataType.INT64);
      else if (BOOL_OUT.has(op)) outs.push(DataType.BOOL);
      else if (op === 'If' || op === 'Loop' || op === 'Scan') {
        const g = n.attribute.find((a) => a.g)?.g as GraphProto | undefined;
        if (g) for (const o of g.output) outs.push(declared(o));
      } else {
        let t: number | undefined;
        for (let k = 0; k < n.input.length && t === undefined; k++) t = inType(k);
        for (let k = 0; k < n.output.length; k++) outs.push(t);
      }
  }
  return outs;
}

/** `nodes` must be in topological order. */
export function inferElemTypes(graph: GraphProto, nodes: readonly NodeProto[]): Map<string, number> {
  const types = new Map<string, number>();
  for (const t of graph.initializer) types.set(t.name, Number(t.dataType));
  for (const v of [...graph.input, ...graph.valueInfo, ...graph.output]) {
    const e = declared(v);
    if (e && !types.has(v.name)) types.set(v.name, e);
  }
  for (const n of nodes) {
    const op = n.domain === '' || n.domain === 'ai.onnx' ? n.opType : `${n.domain}:${n.opType}`;
    if (!SPECIAL.has(op)) {
      // common case: every output takes the first known input type
      let t: number | undefined;
      const ins = n.input;
      for (let k = 0; k < ins.length && t === undefined; k++) if (ins[k]) t = types.get(ins[k]!);
      if (t === undefined) continue;
      const os = n.output;
      for (let k = 0; k < os.length; k++) if (os[k] && !types.has(os[k]!)) types.set(os[k]!, t);
      continue;
    }
    const outs = specialOutputs(n, op, types);
    n.output.forEach((o, k) => {
      if (!o || types.has(o)) return;
      const t = outs[k];
      if (t) types.set(o, t);
    });
  }
  return types;
}

/**
 * The same inference on the analysis index: element type per tensor id (0: unknown). Common ops go through the
 * ids only; the few ops with their own rule use the name-based rules above.
 */
export function inferElemTypesById(g: AGraph): Int32Array {
  const graph = g.graph;
  const types = new Int32Array(g.tensorCount);
  const setName = (name: string, t: number | undefined): void => {
    const id = g.tensorId(name);
    if (id >= 0 && t && !types[id]) types[id] = t;
  };
  for (let q = 0; q < graph.initializer.length; q++) setName(graph.initializer[q]!.name, Number(graph.initializer[q]!.dataType));
  for (const list of [graph.input, graph.valueInfo, graph.output]) for (let q = 0; q < list.length; q++) setName(list[q]!.name, declared(list[q]!));
  const byName = {
    get: (name: string): number | undefined => {
      const id = g.tensorId(name);
      return id >= 0 && types[id] ? types[id] : undefined;
    },
  };
  for (let oi = 0, order = g.order; oi < order.length; oi++) {
    const i = order[oi]!;
    const n = g.nodes[i]!;
    const op = n.domain === '' || n.domain === 'ai.onnx' ? n.opType : `${n.domain}:${n.opType}`;
    if (!SPECIAL.has(op)) {
      let t = 0;
      for (let k = g.inStart[i]!; k < g.inStart[i + 1]! && !t; k++) {
        const id = g.inIds[k]!;
        if (id >= 0) t = types[id]!;
      }
      if (!t) continue;
      for (let k = g.outStart[i]!; k < g.outStart[i + 1]!; k++) {
        const id = g.outIds[k]!;
        if (id >= 0 && !types[id]) types[id] = t;
      }
      continue;
    }
    const outs = specialOutputs(n, op, byName);
    for (let k = 0; k < n.output.length; k++) if (n.output[k]) setName(n.output[k]!, outs[k]);
  }
  return types;
}
