/**
 * Element-type inference: the dtype of every tensor, from initializers, declared value_info/inputs/outputs and
 * Constant nodes, propagated through the nodes in topological order with per-op rules. Unknown stays undefined
 * (the reference's quantizer skips tensors whose type shape inference could not find).
 */
import type { GraphProto, NodeProto, ValueInfoProto } from '../core/onnx/index.js';
import { DataType, attrInt } from '../core/onnx/index.js';

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

/** `nodes` must be in topological order. */
export function inferElemTypes(graph: GraphProto, nodes: readonly NodeProto[]): Map<string, number> {
  const types = new Map<string, number>();
  for (const t of graph.initializer) types.set(t.name, Number(t.dataType));
  for (const v of [...graph.input, ...graph.valueInfo, ...graph.output]) {
    const e = declared(v);
    if (e && !types.has(v.name)) types.set(v.name, e);
  }
  const inType = (n: NodeProto, k: number): number | undefined => {
    const t = n.input[k];
    return t ? types.get(t) : undefined;
  };
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
    const outs: (number | undefined)[] = [];
    switch (op) {
      case 'Cast':
        outs.push(attrInt(n, 'to', 0) || undefined);
        break;
      case 'CastLike':
        outs.push(inType(n, 1));
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
        outs.push(inType(n, 0), DataType.INT64);
        break;
      case 'MaxPool':
        outs.push(inType(n, 0), DataType.INT64);
        break;
      case 'Where':
        outs.push(inType(n, 1) ?? inType(n, 2));
        break;
      case 'DequantizeLinear':
        outs.push(inType(n, 1) ?? DataType.FLOAT);
        break;
      case 'QuantizeLinear':
        outs.push(inType(n, 2) ?? DataType.UINT8);
        break;
      case 'EyeLike':
      case 'RandomNormalLike':
      case 'RandomUniformLike':
        outs.push(attrInt(n, 'dtype', 0) || inType(n, 0));
        break;
      case 'RandomNormal':
      case 'RandomUniform':
        outs.push(attrInt(n, 'dtype', DataType.FLOAT));
        break;
      case 'Dropout':
        outs.push(inType(n, 0), DataType.BOOL);
        break;
      default:
        if (INT64_OUT.has(op)) outs.push(DataType.INT64);
        else if (BOOL_OUT.has(op)) outs.push(DataType.BOOL);
        else if (op === 'If' || op === 'Loop' || op === 'Scan') {
          const g = n.attribute.find((a) => a.g)?.g as GraphProto | undefined;
          if (g) for (const o of g.output) outs.push(declared(o));
        } else {
          let t: number | undefined;
          for (let k = 0; k < n.input.length && t === undefined; k++) t = inType(n, k);
          for (let k = 0; k < n.output.length; k++) outs.push(t);
        }
    }
    n.output.forEach((o, k) => {
      if (!o || types.has(o)) return;
      const t = outs[k];
      if (t) types.set(o, t);
    });
  }
  return types;
}
