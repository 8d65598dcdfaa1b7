/** Synthetic graphs for the analyzer bench: repeated ResNet bottleneck blocks or transformer blocks, in memory. */
import { onnx, type ModelProto, type GraphProto, type NodeProto, type TensorProto, type ValueInfoProto } from '../services/core/onnx/index.js';

export type Family = 'resnet' | 'transformer';

function tensor(name: string, dims: number[]): TensorProto {
  return onnx.TensorProto.create({ name, dims, dataType: 1 }) as unknown as TensorProto;
}
function node(op: string, inputs: string[], outputs: string[], name: string): NodeProto {
  return onnx.NodeProto.create({ opType: op, input: inputs, output: outputs, name }) as unknown as NodeProto;
}
function vi(name: string): ValueInfoProto {
  return onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 64 }, { dimValue: 8 }, { dimValue: 8 }] } } } }) as unknown as ValueInfoProto;
}

/** Builds a model of about `target` nodes. Every other block leaves its nodes unnamed (Prepare names them). */
export function buildSynthetic(family: Family, target: number): ModelProto {
  const nodes: NodeProto[] = [];
  const inits: TensorProto[] = [];
  let x = 'input';
  let b = 0;
  const shared = ['bn_scale', 'bn_bias', 'bn_mean', 'bn_var'].map((n) => tensor(n, [64]));
  inits.push(...shared, tensor('ln_eps', []), tensor('two', []), tensor('sqrt2', []), tensor('one', []), tensor('half', []), tensor('scale', []));
  while (nodes.length < target) {
    const named = b % 2 === 0;
    const nm = (s: string): string => (named ? `b${b}_${s}` : '');
    const t = (s: string): string => `b${b}_${s}`;
    const add = (op: string, ins: string[], out: string, name: string): string => {
      nodes.push(node(op, ins, [t(out)], nm(name)));
      return t(out);
    };
    if (family === 'resnet') {
      let y = x;
      for (let k = 0; k < 3; k++) {
        const w = t(`w${k}`);
        inits.push(tensor(w, [64, 64, k === 1 ? 3 : 1, k === 1 ? 3 : 1]));
        y = add('Conv', [y, w], `c${k}`, `conv${k}`);
        y = add('BatchNormalization', [y, ...shared.map((s) => s.name)], `bn${k}`, `bn${k}`);
        if (k < 2) y = add('Relu', [y], `r${k}`, `relu${k}`);
      }
      y = add('Add', [y, x], 'res', 'add');
      x = add('Relu', [y], 'out', 'relu_out');
    } else {
      const ln = (p: string, inp: string): string => {
        const m = add('ReduceMean', [inp], `${p}m`, `${p}mean`);
        const d = add('Sub', [inp, m], `${p}d`, `${p}sub`);
        const sq = add('Pow', [d, 'two'], `${p}sq`, `${p}pow`);
        const v = add('ReduceMean', [sq], `${p}v`, `${p}var`);
        const ve = add('Add', [v, 'ln_eps'], `${p}ve`, `${p}addeps`);
        const s = add('Sqrt', [ve], `${p}s`, `${p}sqrt`);
        const nrm = add('Div', [d, s], `${p}n`, `${p}div`);
        const g = t(`${p}g`);
        const bb = t(`${p}b`);
        inits.push(tensor(g, [64]), tensor(bb, [64]));
        const sc = add('Mul', [nrm, g], `${p}sc`, `${p}mul`);
        return add('Add', [sc, bb], `${p}o`, `${p}add`);
      };
      const lin = (p: string, inp: string): string => {
        const w = t(`${p}w`);
        const bias = t(`${p}bias`);
        inits.push(tensor(w, [64, 64]), tensor(bias, [64]));
        const mm = add('MatMul', [inp, w], `${p}mm`, `${p}matmul`);
        return add('Add', [mm, bias], `${p}y`, `${p}biasadd`);
      };
      const h = ln('ln1', x);
      const q = lin('q', h);
      const k = lin('k', h);
      const v = lin('v', h);
      const kt = add('Transpose', [k], 'kt', 'kt');
      const s = add('MatMul', [q, kt], 's', 'qk');
      const s2 = add('Div', [s, 'scale'], 's2', 'scale');
      const p = add('Softmax', [s2], 'p', 'softmax');
      const o = add('MatMul', [p, v], 'o', 'pv');
      const proj = lin('proj', o);
      const r1 = add('Add', [x, proj], 'r1', 'res1');
      const h2 = ln('ln2', r1);
      const f1 = lin('fc1', h2);
      const g1 = add('Div', [f1, 'sqrt2'], 'g1', 'gdiv');
      const g2 = add('Erf', [g1], 'g2', 'erf');
      const g3 = add('Add', [g2, 'one'], 'g3', 'gadd');
      const g4 = add('Mul', [f1, g3], 'g4', 'gmul');
      const g5 = add('Mul', [g4, 'half'], 'g5', 'gmul2');
      const f2 = lin('fc2', g5);
      x = add('Add', [r1, f2], 'out', 'res2');
    }
    b++;
  }
  const graph = onnx.GraphProto.create({ name: `${family}-${target}`, node: nodes as never, initializer: inits as never, input: [vi("input")] as never, output: [vi(x)] as never }) as unknown as GraphProto;
  return onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }], graph: graph as never }) as unknown as ModelProto;
}

