/**
 * Quantizer benchmarks, each against a baseline measured in the same run:
 *  1. AWQ clip search on a 4096x4096 weight with 64 tokens, through the quantizer's search
 *     (services/quantizer/int4-awq.ts, native kernel) vs a numpy implementation of the same search
 *     run by python3 (bench/awq_clip_numpy.py). Target >= 5x; the chosen alphas must be identical.
 *  2. Peak RSS of quantizing a synthetic MatMul chain holding 1 GiB of float32 weights (INT8 Q/DQ and
 *     INT4 RTN-DQ, load → quantize → export), each in a fresh child process. Target <= 2.5x the
 *     weight bytes.
 *
 * `node --import tsx bench/quantizer.bench.ts [--quick]` (--quick: 1024x1024 AWQ, 256 MiB model).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNpyF32, writeNpyF32 } from '../native/npy.js';
import { isNativeAvailable } from '../native/index.js';
import { awqClipSearch } from '../services/quantizer/int4-awq.js';
import { DataType, encodeModel, loadModel, makeNode, makeTensor, onnx, type ModelProto, type ValueInfoProto } from '../services/core/onnx/index.js';
import { quantizeModel } from '../services/quantizer/quantize.js';
import { exportModel } from '../services/exporter/export.js';
import type { CalibrationTable } from '../services/core/quant-types.js';
import { normal } from '../native/testkit.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');

async function awqBench(): Promise<void> {
  const cin = quick ? 1024 : 4096;
  const cout = quick ? 1024 : 4096;
  const tokens = 64;
  const w = normal(cin * cout, 7, 0.02);
  for (let i = 0; i < w.length; i += 101) w[i] = w[i]! * 5;
  const x = normal(tokens * cin, 8, 1);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'q-awq-bench-'));
  try {
    writeNpyF32(path.join(dir, 'w.npy'), w, [cin, cout]);
    writeNpyF32(path.join(dir, 'x.npy'), x, [tokens, cin]);
    const out = execFileSync('python3', [path.join(here, 'awq_clip_numpy.py'), path.join(dir, 'w.npy'), path.join(dir, 'x.npy'), path.join(dir, 'a.npy'), path.join(dir, 'l.npy')], { encoding: 'utf8' });
    const numpyMs = (JSON.parse(out.trim().split('\n').pop()!) as { seconds: number }).seconds * 1000;
    const pyAlphas = readNpyF32(path.join(dir, 'a.npy')).data;
    let best = Infinity;
    let r!: Awaited<ReturnType<typeof awqClipSearch>>;
    for (let i = 0; i < 2; i++) {
      const t0 = performance.now();
      r = await awqClipSearch(w, cin, cout, x, tokens);
      best = Math.min(best, performance.now() - t0);
    }
    let diff = 0;
    for (let i = 0; i < pyAlphas.length; i++) if (pyAlphas[i] !== r.alphas[i]) diff++;
    const ratio = numpyMs / best;
    console.log(`AWQ clip search ${cin}x${cout}, ${tokens} tokens: numpy ${numpyMs.toFixed(0)} ms, quantizer (${r.native ? 'native' : 'plain TS'}) ${best.toFixed(0)} ms, ratio ${ratio.toFixed(1)}x (target >= 5x) ${ratio >= 5 ? 'PASS' : 'FAIL'}; ${diff === 0 ? 'alphas identical' : `${diff} of ${pyAlphas.length} alphas differ`}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function vi(name: string, dims: number[]): ValueInfoProto {
  const v = onnx.ValueInfoProto.fromObject({ name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
  return onnx.ValueInfoProto.decode(onnx.ValueInfoProto.encode(v).finish()) as unknown as ValueInfoProto;
}

/** A chain of MatMuls with `layers` [d, d] float32 weights. */
function writeChain(file: string, layers: number, d: number): void {
  const nodes = [];
  const inits = [];
  for (let l = 0; l < layers; l++) {
    const w = normal(d * d, 100 + l, 1 / Math.sqrt(d));
    inits.push(makeTensor(`w${l}`, DataType.FLOAT, [d, d], new Uint8Array(w.buffer)));
    nodes.push(makeNode('MatMul', [l === 0 ? 'x' : `h${l}`, `w${l}`], [l === layers - 1 ? 'y' : `h${l + 1}`], `mm${l}`));
  }
  const m = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: onnx.GraphProto.create({ name: 'chain', node: nodes as never, initializer: inits as never, input: [vi('x', [1, d])] as never, output: [vi('y', [1, d])] as never }),
  });
  fs.writeFileSync(file, encodeModel(m as unknown as ModelProto));
}

async function child(mode: string, file: string): Promise<void> {
  const model = loadModel(file);
  const layers = model.graph!.node.length;
  const ranges: CalibrationTable['ranges'] = {};
  for (let l = 0; l <= layers; l++) {
    const t = l === 0 ? 'x' : `h${l}`;
    ranges[t] = { tensor: t, min: -4, max: 4, low: -4, high: 4 };
  }
  const sel = model.graph!.node.map((n) => n.name);
  await quantizeModel({
    model,
    options: { quantizeMode: mode as never },
    analysis: { quantizableNodes: sel, noQuantizeEdges: [], decisions: [], tensorsToCalibrate: [], opTypeCounts: {} },
    calibration: { method: 'minmax', samples: 1, ranges },
  });
  const out = file.replace(/\.onnx$/, `.${mode}.onnx`);
  exportModel(model, out);
  const rss = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(JSON.stringify({ rss, outBytes: fs.statSync(out).size }) + '\n');
}

function rssBench(): void {
  const d = 4096;
  const layers = quick ? 4 : 16;
  const weightBytes = layers * d * d * 4;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'q-rss-bench-'));
  try {
    const file = path.join(dir, 'chain.onnx');
    // Written by a separate process so that generating the weights does not count.
    const gen = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--write-chain', file, String(layers), String(d)], { stdio: 'inherit' });
    if (gen.status !== 0) throw new Error('writing the synthetic model failed');
    const base = spawnSync(process.execPath, ['--import', 'tsx', '-e', 'process.stdout.write(String(process.resourceUsage().maxRSS * 1024))'], { encoding: 'utf8' });
    const baseline = Number(base.stdout);
    for (const mode of ['int8', 'int4_rtn_dq']) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', mode, file], { encoding: 'utf8', maxBuffer: 1 << 20 });
      if (r.status !== 0) throw new Error(`child ${mode} failed: ${r.stderr}`);
      const { rss, outBytes } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { rss: number; outBytes: number };
      const ratio = rss / weightBytes;
      console.log(
        `${mode}: ${layers} MatMul [${d}x${d}] weights = ${(weightBytes / 2 ** 30).toFixed(2)} GiB, peak RSS ${(rss / 2 ** 30).toFixed(2)} GiB (node baseline ${(baseline / 2 ** 20).toFixed(0)} MiB) = ${ratio.toFixed(2)}x the weight bytes (target <= 2.5x) ${ratio <= 2.5 ? 'PASS' : 'FAIL'}; output ${(outBytes / 2 ** 20).toFixed(0)} MiB`,
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const argv = process.argv;
if (argv[2] === '--write-chain') writeChain(argv[3]!, Number(argv[4]), Number(argv[5]));
else if (argv[2] === '--child') await child(argv[3]!, argv[4]!);
else {
  console.log(`native addon: ${isNativeAvailable() ? 'loaded' : 'NOT BUILT (plain TS search)'}`);
  await awqBench();
  rssBench();
}
