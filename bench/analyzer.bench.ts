/**
 * Prepare + Analyze on synthetic graphs built in memory: repeated ResNet bottleneck blocks (Conv/BN/Relu with a
 * residual Add) and repeated transformer blocks (written-out LayerNorm, attention MatMuls, GELU MLP). Prints the time
 * per size, the ratio for each doubling of the graph (target ≤ 2.2×, i.e. no quadratic pass), the 100k-node time
 * (target < 1 s) and the heap after the 1M-node runs (target < 2 GB).
 *
 * Run: node --expose-gc --import tsx bench/analyzer.bench.ts [--max 1000000]
 */
import { onnx, type ModelProto, type GraphProto, type NodeProto, type TensorProto, type ValueInfoProto } from '../services/core/onnx/index.js';
import { prepare } from '../services/graph-analyzer/prepare.js';
import { analyze } from '../services/graph-analyzer/analyze.js';

type Family = 'resnet' | 'transformer';

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
  const graph = onnx.GraphProto.create({ name: `${family}-${target}`, node: nodes, initializer: inits, input: [vi('input')], output: [vi(x)] }) as unknown as GraphProto;
  return onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }], graph }) as unknown as ModelProto;
}

function time(family: Family, n: number): { nodes: number; prepareMs: number; analyzeMs: number; totalMs: number; selected: number } {
  const model = buildSynthetic(family, n);
  const nodes = model.graph!.node.length;
  const t0 = performance.now();
  prepare(model);
  const t1 = performance.now();
  const r = analyze(model, { quantizeMode: 'int8' });
  const t2 = performance.now();
  return { nodes, prepareMs: t1 - t0, analyzeMs: t2 - t1, totalMs: t2 - t0, selected: r.quantizableNodes.length };
}

const gc = (globalThis as { gc?: () => void }).gc;
const maxArg = process.argv.indexOf('--max');
const max = maxArg > 0 ? Number(process.argv[maxArg + 1]) : 1_000_000;
const sizes = [10_000, 50_000, 100_000, 200_000, 500_000, 1_000_000].filter((s) => s <= max);
let peakHeap = 0;
for (const family of ['resnet', 'transformer'] as Family[]) {
  time(family, 2000); // warm-up (JIT)
  const rows: ReturnType<typeof time>[] = [];
  for (const s of sizes) {
    gc?.();
    const r = time(family, s);
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    rows.push(r);
    const prev = rows.find((x) => Math.abs(x.nodes * 2 - r.nodes) < r.nodes * 0.01);
    const ratio = prev ? ` doubling ×${(r.totalMs / prev.totalMs).toFixed(2)} (target ≤ 2.2)` : '';
    console.log(`${family.padEnd(11)} ${String(r.nodes).padStart(8)} nodes  prepare ${r.prepareMs.toFixed(0).padStart(6)} ms  analyze ${r.analyzeMs.toFixed(0).padStart(6)} ms  total ${r.totalMs.toFixed(0).padStart(6)} ms  selected ${r.selected}${ratio}`);
  }
  const at100k = rows.find((r) => r.nodes >= 100_000 && r.nodes < 101_000);
  if (at100k) console.log(`${family}: 100k nodes in ${at100k.totalMs.toFixed(0)} ms (target < 1000 ms) ${at100k.totalMs < 1000 ? 'OK' : 'OVER'}`);
}
console.log(`peak heap used ${(peakHeap / 2 ** 20).toFixed(0)} MiB (target < 2048 MiB)`);
