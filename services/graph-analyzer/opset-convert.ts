/**
 * Converts a model below opset 13 to opset 13 for the ops whose signature changed between opsets 7 and 13
 * (attributes that became inputs, Softmax axis semantics, Upsample → Resize, ...). New constant inputs come from
 * unnamed Constant nodes inserted right before the node that reads them, and a Softmax whose axis is not the last
 * becomes Shape → Flatten → Softmax → Reshape, as onnx's version converter does. An op that cannot be converted is
 * named in an InvalidArgument.
 */
import type { ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto } from '../core/onnx/index.js';
import { makeNode, getAttr, attrInt, attrInts, attrFloat, attrString, makeInt64Tensor, makeFloatTensor, onnx, constantNodeValue, tensorToNumbers, defaultOpset, setDefaultOpset } from '../core/onnx/index.js';
import { InvalidArgument } from '../core/errors.js';

export const TARGET_OPSET = 13;
export const MIN_CONVERTIBLE_OPSET = 7;

/** Ops that changed in ways this converter does not handle. */
const UNCONVERTIBLE_BELOW_13: Record<string, number> = { Scan: 9 };

export interface ConvertResult {
  converted: boolean;
  from: number;
}

/**
 * The default-domain opset ("" or "ai.onnx"). The reference reads the first entry of "", "ai.onnx" or
 * "ai.onnx.contrib" and exempts version 1 from conversion, which only makes sense for a contrib entry; we ignore
 * contrib entries instead and convert every default-domain opset below 13 (docs/compatibility.md).
 */
export function defaultDomainOpset(model: ModelProto): number {
  for (const o of model.opsetImport) if ((o.domain ?? '') === '' || o.domain === 'ai.onnx') return Number(o.version);
  return defaultOpset(model);
}

export function convertToOpset13(model: ModelProto): ConvertResult {
  const from = defaultDomainOpset(model);
  if (from >= TARGET_OPSET) return { converted: false, from };
  if (from < MIN_CONVERTIBLE_OPSET) throw new InvalidArgument(`model opset ${from} is below ${MIN_CONVERTIBLE_OPSET}; conversion to opset ${TARGET_OPSET} is supported from opset ${MIN_CONVERTIBLE_OPSET}`);
  const graph = model.graph as GraphProto;
  const taken = new Set<string>();
  for (const i of graph.input) taken.add(i.name);
  for (const t of graph.initializer) taken.add(t.name);
  for (const n of graph.node) for (const o of n.output) taken.add(o);
  let counter = taken.size;
  const fresh = (): string => {
    let s: string;
    do s = `_v_${counter++}`;
    while (taken.has(s));
    taken.add(s);
    return s;
  };
  const ranks = new RankInfo(graph);
  const out: NodeProto[] = [];
  for (const node of graph.node) {
    if (node.domain !== '' && node.domain !== 'ai.onnx') {
      out.push(node);
      continue;
    }
    const before: NodeProto[] = [];
    const after: NodeProto[] = [];
    const constInput = (t: TensorProto): string => {
      const name = fresh();
      t.name = name;
      const c = onnx.NodeProto.create({ opType: 'Constant', input: [], output: [name], name: '', attribute: [onnx.AttributeProto.create({ name: 'value', t: t as never, type: onnx.AttributeProto.AttributeType.TENSOR })] }) as unknown as NodeProto;
      before.push(c);
      return name;
    };
    const dropAttrs = (...names: string[]): void => {
      node.attribute = node.attribute.filter((a) => !names.includes(a.name)) as AttributeProto[];
    };
    const label = `node "${node.name || '(unnamed)'}" (${node.opType})`;
    const limit = UNCONVERTIBLE_BELOW_13[node.opType];
    if (limit !== undefined && from < limit) throw new InvalidArgument(`${label}: cannot convert ${node.opType} from opset ${from} to ${TARGET_OPSET}`);
    switch (node.opType) {
      case 'Squeeze':
      case 'Unsqueeze':
      case 'ReduceSum': {
        const axes = attrInts(node, 'axes');
        if (axes) {
          const c = constInput(makeInt64Tensor('', [axes.length], axes));
          dropAttrs('axes');
          node.input = [node.input[0] ?? '', c];
        }
        break;
      }
      case 'Split': {
        const split = attrInts(node, 'split');
        if (split) {
          const c = constInput(makeInt64Tensor('', [split.length], split));
          dropAttrs('split');
          node.input = [node.input[0] ?? '', c];
        }
        break;
      }
      case 'Clip':
        if (from < 11) {
          const lo = getAttr(node, 'min');
          const hi = getAttr(node, 'max');
          const ins = [node.input[0] ?? ''];
          ins.push(constInput(makeFloatTensor('', [], [lo ? lo.f : -3.4028234663852886e38])));
          ins.push(constInput(makeFloatTensor('', [], [hi ? hi.f : 3.4028234663852886e38])));
          dropAttrs('min', 'max');
          node.input = ins;
        }
        break;
      case 'Pad':
        if (from < 11) {
          const pads = attrInts(node, 'pads') ?? attrInts(node, 'paddings');
          if (!pads) throw new InvalidArgument(`${label}: Pad without pads`);
          const ins = [node.input[0] ?? '', constInput(makeInt64Tensor('', [pads.length], pads))];
          const v = getAttr(node, 'value');
          if (v && v.f !== 0) ins.push(constInput(makeFloatTensor('', [], [v.f])));
          dropAttrs('pads', 'paddings', 'value');
          node.input = ins;
        }
        break;
      case 'Slice':
        if (from < 10) {
          const starts = attrInts(node, 'starts');
          const ends = attrInts(node, 'ends');
          if (!starts || !ends) throw new InvalidArgument(`${label}: Slice without starts/ends`);
          const axes = attrInts(node, 'axes');
          const ins = [node.input[0] ?? '', constInput(makeInt64Tensor('', [starts.length], starts)), constInput(makeInt64Tensor('', [ends.length], ends))];
          if (axes) ins.push(constInput(makeInt64Tensor('', [axes.length], axes)));
          dropAttrs('starts', 'ends', 'axes');
          node.input = ins;
        }
        break;
      case 'TopK':
        if (from < 10) {
          const k = attrInt(node, 'k', -1);
          if (k < 0) throw new InvalidArgument(`${label}: TopK without k`);
          node.input = [node.input[0] ?? '', constInput(makeInt64Tensor('', [1], [k]))];
          dropAttrs('k');
        }
        break;
      case 'Dropout':
        if (from < 12) {
          const ratio = attrFloat(node, 'ratio', 0.5);
          dropAttrs('ratio', 'is_test');
          node.input = [node.input[0] ?? '', constInput(makeFloatTensor('', [], [ratio]))];
        }
        break;
      case 'BatchNormalization':
        if (from < 9) {
          if (attrInt(node, 'spatial', 1) !== 1) throw new InvalidArgument(`${label}: BatchNormalization with spatial=0 cannot be converted to opset ${TARGET_OPSET}`);
          dropAttrs('spatial', 'is_test', 'consumed_inputs');
        }
        break;
      case 'Upsample': {
        const mode = attrString(node, 'mode') ?? 'nearest';
        let scales = node.input[1] ?? '';
        if (from < 9) {
          const s = getAttr(node, 'scales');
          if (!s) throw new InvalidArgument(`${label}: Upsample without scales`);
          scales = constInput(makeFloatTensor('', [s.floats.length], s.floats));
        }
        node.opType = 'Resize';
        node.attribute = [];
        node.input = [node.input[0] ?? '', '', scales];
        setStr(node, 'mode', mode === 'bilinear' ? 'linear' : mode);
        setStr(node, 'coordinate_transformation_mode', 'asymmetric');
        if (mode === 'nearest') setStr(node, 'nearest_mode', 'floor');
        break;
      }
      case 'Resize':
        if (from < 11) {
          node.input = [node.input[0] ?? '', '', node.input[1] ?? ''];
          setStr(node, 'coordinate_transformation_mode', 'asymmetric');
          if ((attrString(node, 'mode') ?? 'nearest') === 'nearest') setStr(node, 'nearest_mode', 'floor');
        }
        break;
      case 'Scatter':
        node.opType = 'ScatterElements';
        break;
      case 'Softmax':
      case 'LogSoftmax':
      case 'Hardmax': {
        const axis = attrInt(node, 'axis', 1);
        const x = node.input[0] ?? '';
        const rank = ranks.rank(x);
        if (axis === -1 || (rank !== undefined && (axis === rank - 1 || axis + rank === rank - 1))) {
          setInt(node, 'axis', axis);
          break;
        }
        const shape = fresh();
        const flat = fresh();
        const y = node.output[0] ?? '';
        const mid = `${y}_intermediate`;
        taken.add(mid);
        before.push(makeNode('Shape', [x], [shape], ''));
        before.push(makeNode('Flatten', [x], [flat], '', { axis }));
        node.input = [flat];
        node.output = [mid];
        setInt(node, 'axis', -1);
        after.push(makeNode('Reshape', [mid, shape], [y], ''));
        break;
      }
      default:
    }
    out.push(...before, node, ...after);
  }
  graph.node = out;
  setDefaultOpset(model, TARGET_OPSET);
  if ((model.irVersion as number) < 7) model.irVersion = 7;
  return { converted: true, from };
}

function setStr(node: NodeProto, name: string, v: string): void {
  node.attribute = [...node.attribute.filter((a) => a.name !== name), onnx.AttributeProto.create({ name, s: Buffer.from(v), type: onnx.AttributeProto.AttributeType.STRING }) as unknown as AttributeProto];
}

function setInt(node: NodeProto, name: string, v: number): void {
  node.attribute = [...node.attribute.filter((a) => a.name !== name), onnx.AttributeProto.create({ name, i: v, type: onnx.AttributeProto.AttributeType.INT }) as unknown as AttributeProto];
}

/** Ranks of tensors where they can be worked out without full shape inference. */
class RankInfo {
  private readonly known = new Map<string, number>();
  private readonly producer = new Map<string, NodeProto>();
  private readonly consts = new Map<string, TensorProto>();

  constructor(graph: GraphProto) {
    for (const v of [...graph.input, ...graph.valueInfo, ...graph.output]) {
      const d = v.type?.tensorType?.shape?.dim;
      if (d) this.known.set(v.name, d.length);
    }
    for (const t of graph.initializer) {
      this.known.set(t.name, t.dims.length);
      this.consts.set(t.name, t as TensorProto);
    }
    for (const n of graph.node) {
      for (const o of n.output) if (o) this.producer.set(o, n);
      if (n.opType === 'Constant' && n.output[0]) {
        const v = constantNodeValue(n.attribute, n.output[0]);
        if (v) {
          this.consts.set(n.output[0], v);
          this.known.set(n.output[0], v.dims.length);
        }
      }
    }
  }

  rank(t: string, depth = 0): number | undefined {
    const k = this.known.get(t);
    if (k !== undefined) return k;
    if (depth > 64) return undefined;
    const n = this.producer.get(t);
    if (!n) return undefined;
    const r = (i: number): number | undefined => (n.input[i] ? this.rank(n.input[i]!, depth + 1) : undefined);
    let out: number | undefined;
    switch (n.opType) {
      case 'Gemm':
      case 'Flatten':
        out = 2;
        break;
      case 'MatMul': {
        const a = r(0);
        const b = r(1);
        out = a !== undefined && b !== undefined ? Math.max(a, b) : undefined;
        break;
      }
      case 'Reshape': {
        const s = n.input[1] ? this.consts.get(n.input[1]) : undefined;
        out = s ? tensorToNumbers(s).length : undefined;
        break;
      }
      case 'Unsqueeze':
      case 'Squeeze': {
        const axes = attrInts(n, 'axes');
        const a = r(0);
        if (a !== undefined && axes) out = n.opType === 'Unsqueeze' ? a + axes.length : a - axes.length;
        break;
      }
      case 'Shape':
        out = 1;
        break;
      default:
        if (['Conv', 'Relu', 'BatchNormalization', 'Softmax', 'Transpose', 'Concat', 'GlobalAveragePool', 'MaxPool', 'AveragePool', 'Sigmoid', 'Tanh', 'Dropout', 'Identity', 'Cast', 'LeakyRelu', 'Clip', 'Exp', 'Log', 'Sqrt', 'Neg', 'Abs'].includes(n.opType)) out = r(0);
        else if (['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Sum', 'Max', 'Min'].includes(n.opType)) {
          let m: number | undefined = 0;
          for (let i = 0; i < n.input.length; i++) {
            const x = r(i);
            if (x === undefined) {
              m = undefined;
              break;
            }
            m = Math.max(m, x);
          }
          out = m;
        }
    }
    if (out !== undefined) this.known.set(t, out);
    return out;
  }
}
