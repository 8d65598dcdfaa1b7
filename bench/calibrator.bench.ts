/**
 * Calibrator benchmarks (ratios measured in the same run):
 *  1. onnxruntime 1.30 Python quantize_static (Entropy) vs ours on ppocr_rec with its 64 real samples:
 *     wall time and peak RSS, each in its own process (targets: >= 10x faster, >= 10x less memory).
 *     The same tensors are calibrated (onnxruntime's own select_tensors_to_calibrate list).
 *  2. Streaming: our peak RSS with the data tiled to 256 samples vs 64 (target <= 1.1x), ppocr_rec and
 *     ppocr_det (data in .npy files read row by row).
 *  3. Cost over inference: minmax and entropy vs bare onnxruntime-node inference over the same feeds
 *     (targets: minmax <= 1.2x, entropy <= 1.5x), and the capture cost per graph optimisation level; then
 *     both again in a warm process (the same job 6 times in one process, as a long-lived service runs it),
 *     and minmax with its session kept between those jobs (as the calibrator service keeps it).
 *  4. Kernels (native vs TypeScript reference): bench/kernels.bench.ts.
 *
 * Env: CALIB_BENCH=1,2,3 (parts to run; default all), CALIB_BENCH_DET_SAMPLES (default 64 and 256),
 * CALIB_BENCH_SKIP_PYTHON=1 (skip part 1's onnxruntime run, ~120 s and ~14 GB).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DTYPE_DESCR, npyHeaderBytes, openNpz } from '../services/core/npy.js';
import { prepareFile } from '../services/graph-analyzer/prepare.js';
import { analyze } from '../services/graph-analyzer/analyze.js';
import { saveModel } from '../services/core/onnx/index.js';
import { SHARED } from '../test/helpers/shared.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const shared = SHARED;
const model = (n: string) => path.join(shared, 'models', `${n}.onnx`);
const calib = (n: string) => path.join(shared, 'data', `${n}.calib.npz`);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'calib-bench-'));
const parts = new Set((process.env.CALIB_BENCH ?? '1,2,3').split(','));

interface Run {
  wall_s: number;
  max_rss_kb: number;
  samples: number;
}

function child(args: Record<string, unknown>): Run {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, 'calibrator-child.ts'), JSON.stringify(args)], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Run;
}

function python(args: string[]): string {
  const r = spawnSync('python3', [path.join(here, 'calibrator_ort.py'), ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

/** writes `<name>.npz`'s single input tiled to `samples` rows as an .npy (rows streamed, never all in memory). */
function tile(name: string, samples: number): string {
  const z = openNpz(calib(name));
  if (z.size !== 1) throw new Error(`${name}: tiling supports single-input data`);
  const src = [...z.values()][0]!;
  const rows = src.shape[0]!;
  const file = path.join(tmp, `${name}.${samples}.npy`);
  const shape = [samples, ...src.shape.slice(1)];
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, npyHeaderBytes(DTYPE_DESCR[src.dtype], shape));
  for (let i = 0; i < samples; i++) {
    const row = src.readRows(i % rows, 1);
    fs.writeSync(fd, new Uint8Array(row.buffer, row.byteOffset, row.byteLength));
  }
  fs.closeSync(fd);
  for (const s of z.values()) s.close?.();
  return file;
}

/** Rows (samples) of a model's calibration set. */
function sampleCount(name: string): number {
  const z = openNpz(calib(name));
  const n = [...z.values()][0]!.shape[0]!;
  for (const a of z.values()) a.close?.();
  return n;
}

const mb = (kb: number) => (kb / 1024).toFixed(0);
const rows: string[][] = [];
const print = () => {
  const w = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) console.log(r.map((x, c) => x.padEnd(w[c]!)).join('  '));
  rows.length = 0;
};

// the tensors onnxruntime's calibrator would capture, and its opset-13 model copy
const recTensors = path.join(tmp, 'ppocr_rec.tensors.json');
const rec13 = path.join(tmp, 'ppocr_rec.13.onnx');
python(['prepare', model('ppocr_rec'), rec13, recTensors]);
const nTensors = (JSON.parse(fs.readFileSync(recTensors, 'utf8')) as string[]).length;
console.log(`ppocr_rec: ${nTensors} tensors (onnxruntime's calibration list), opset-13 copy; cpus ${os.cpus().length}, load ${os.loadavg()[0]!.toFixed(1)}`);

if (parts.has('1')) {
  console.log('\n[1] Entropy calibration, ppocr_rec, 64 real samples: onnxruntime quantize_static vs ours');
  const ours1 = child({ model: rec13, data: calib('ppocr_rec'), tensors: recTensors, method: 'entropy' });
  rows.push(['run', 'wall s', 'peak RSS MB', 'samples']);
  rows.push(['ours (entropy defaults: the in-graph min/max pass)', ours1.wall_s.toFixed(1), mb(ours1.max_rss_kb), String(ours1.samples)]);
  if (process.env.CALIB_BENCH_SKIP_PYTHON !== '1') {
    const ort = JSON.parse(python(['quantize', rec13, calib('ppocr_rec'), 'entropy', path.join(tmp, 'rec.q.onnx')]).trim().split('\n').pop()!) as Run;
    rows.push(['onnxruntime quantize_static (Entropy)', ort.wall_s.toFixed(1), mb(ort.max_rss_kb), String(ort.samples)]);
    print();
    console.log(`speed-up ${(ort.wall_s / ours1.wall_s).toFixed(1)}x (target >= 10x), memory ${(ort.max_rss_kb / ours1.max_rss_kb).toFixed(1)}x less (target >= 10x)`);
    console.log('(onnxruntime times include writing the quantized model, a few hundred ms; ours is calibration only)');
  } else print();
}

if (parts.has('2')) {
  console.log('\n[2] Streaming: peak RSS with 256 vs 64 samples (data tiled into .npy, read row by row)');
  rows.push(['model', 'method', 'samples', 'wall s', 'peak RSS MB']);
  const detCounts = (process.env.CALIB_BENCH_DET_SAMPLES ?? '64,256').split(',').map(Number);
  const cases: [string, string, number[], string | undefined][] = [
    ['ppocr_rec', 'entropy', [64, 256], recTensors],
    ['ppocr_det', 'minmax', detCounts, undefined],
  ];
  const ratios: string[] = [];
  for (const [name, method, counts, tensorsFile] of cases) {
    let tensors = tensorsFile;
    if (!tensors) {
      tensors = path.join(tmp, `${name}.tensors.json`);
      python(['prepare', model(name), path.join(tmp, `${name}.13.onnx`), tensors]);
    }
    const m = name === 'ppocr_rec' ? rec13 : path.join(tmp, `${name}.13.onnx`);
    const res = counts.map((n) => {
      const f = tile(name, n);
      const r = child({ model: m, data: f, tensors, method });
      fs.rmSync(f);
      rows.push([name, method, String(n), r.wall_s.toFixed(1), mb(r.max_rss_kb)]);
      return r;
    });
    ratios.push(`${name}: ${(res[res.length - 1]!.max_rss_kb / res[0]!.max_rss_kb).toFixed(3)}x peak RSS for ${counts[counts.length - 1]} vs ${counts[0]} samples (target <= 1.1x)`);
  }
  print();
  for (const r of ratios) console.log(r);
}

if (parts.has('3')) {
  // ppocr_rec with two tensor lists: onnxruntime's (every output of its calibratable op types, 722) and ours
  // (what graph-analyzer selects for INT8 and `modelopt quantize` calibrates), each on its model; then ppocr_det
  // with ours.
  const ours = path.join(tmp, 'ppocr_rec.ours.json');
  const oursModel = path.join(tmp, 'ppocr_rec.prepared.onnx');
  const prepared = prepareFile(model('ppocr_rec'));
  saveModel(prepared.model, oursModel);
  fs.writeFileSync(ours, JSON.stringify(analyze(prepared.model, { quantizeMode: 'int8' }).tensorsToCalibrate));
  // ppocr_det too: few, large samples, so the min/max pass runs one sample per run (no grouping)
  const detOurs = path.join(tmp, 'ppocr_det.ours.json');
  const detModel = path.join(tmp, 'ppocr_det.prepared.onnx');
  const detPrepared = prepareFile(model('ppocr_det'));
  saveModel(detPrepared.model, detModel);
  fs.writeFileSync(detOurs, JSON.stringify(analyze(detPrepared.model, { quantizeMode: 'int8' }).tensorsToCalibrate));
  // and ppocr_cls: small samples (1.7M calibrated values each), so the min/max pass groups 8 per run
  const clsOurs = path.join(tmp, 'ppocr_cls.ours.json');
  const clsModel = path.join(tmp, 'ppocr_cls.prepared.onnx');
  const clsPrepared = prepareFile(model('ppocr_cls'));
  saveModel(clsPrepared.model, clsModel);
  fs.writeFileSync(clsOurs, JSON.stringify(analyze(clsPrepared.model, { quantizeMode: 'int8' }).tensorsToCalibrate));
  const count = (f: string) => (JSON.parse(fs.readFileSync(f, 'utf8')) as string[]).length;
  const lists: [string, { model: string; data: string; tensors: string }, boolean][] = [
    [`ppocr_rec, 64 samples, onnxruntime's list (${nTensors} tensors)`, { model: rec13, data: calib('ppocr_rec'), tensors: recTensors }, true],
    [`ppocr_rec, 64 samples, graph-analyzer's INT8 list (${count(ours)} tensors)`, { model: oursModel, data: calib('ppocr_rec'), tensors: ours }, true],
    [`ppocr_det, its ${sampleCount('ppocr_det')} samples, graph-analyzer's INT8 list (${count(detOurs)} tensors)`, { model: detModel, data: calib('ppocr_det'), tensors: detOurs }, false],
    [`ppocr_cls, 64 samples, graph-analyzer's INT8 list (${count(clsOurs)} tensors)`, { model: clsModel, data: calib('ppocr_cls'), tensors: clsOurs }, false],
  ];
  for (const [listLabel, base, allRows] of lists) {
    console.log(`\n[3] Cost over inference, same feeds, ${listLabel}`);
    // The ratio rows are the best of CALIB_BENCH_REPS (default 3) runs taken in turn, so that a slow spell of
    // this shared machine lands on every row alike; the rest run once.
    const reps = Number(process.env.CALIB_BENCH_REPS ?? 3);
    const timed: [string, Record<string, unknown>][] = [
      // the baseline: onnxruntime-node handed the model file's bytes, as a user would call it
      ['bare inference: onnxruntime-node on the file (level all, 1 sample per run)', { ...base, method: 'ort', level: 'all' }],
      // our own session on the decoded model, re-encoded (the calibrator's session builds start from the same)
      ['bare inference, our session (model decoded and encoded again)', { ...base, method: 'bare', level: 'all' }],
      // the session built for the data's dims, as calibrate() builds its own: the build-time share of the
      // remaining cost shows against this one
      ['bare inference, our session, inputs declared with the data dims', { ...base, method: 'bare', level: 'all', fixInputDims: true }],
      ['minmax (in-graph reductions, level all; 4-8 samples per run where the tensors are small)', { ...base, method: 'minmax' }],
      ['entropy (defaults 128/128: min/max pass only, level all)', { ...base, method: 'entropy' }],
    ];
    const best = new Map<string, Run>();
    for (let r = 0; r < reps; r++) {
      for (const [label, args] of timed) {
        const run = child(args);
        const prev = best.get(label);
        if (!prev || run.wall_s < prev.wall_s) best.set(label, run);
      }
    }
    const bare = best.get(timed[0]![0])!;
    const res: [string, Run][] = [...timed.map(([label]) => [label, best.get(label)!] as [string, Run])];
    if (allRows) res.push(
      ['bare inference (level all, 4 samples per run)', child({ ...base, method: 'bare', level: 'all', stepsPerRun: 4 })],
      ['bare inference (level disabled)', child({ ...base, method: 'bare', level: 'disabled' })],
      ['capture only (level basic, the default)', child({ ...base, method: 'capture', level: 'basic' })],
      ['minmax, level basic', child({ ...base, method: 'minmax', level: 'basic' })],
      ['minmax, 1 sample per run', child({ ...base, method: 'minmax', reductionStepsPerRun: 1 })],
      ['entropy, 128 bins, histogram forced (2 passes)', child({ ...base, method: 'entropy', alwaysCollectHistograms: true })],
      ['entropy, 2048 bins (961 windows searched, 2 passes)', child({ ...base, method: 'entropy', numBins: 2048 })],
      ['entropy, 2048 bins, streaming (1 pass)', child({ ...base, method: 'entropy', numBins: 2048, histogramRange: 'streaming' })],
      ['percentile (global range, 2 passes)', child({ ...base, method: 'percentile' })],
    );
    rows.push(['run', 'wall s', 'x bare (all)', 'peak RSS MB']);
    for (const [label, run] of res) rows.push([label, run.wall_s.toFixed(2), (run.wall_s / bare.wall_s).toFixed(2), mb(run.max_rss_kb)]);
    // a long-lived service runs its JavaScript warm: the same job 6 times in one process, median of jobs 2-6,
    // against bare inference measured the same way
    const warmBare = child({ ...base, method: 'ort', level: 'all', repeat: 6 });
    const warmMinmax = child({ ...base, method: 'minmax', repeat: 6 });
    rows.push(['bare inference (onnxruntime-node on the file), warm process (jobs 2-6 of 6 in one process, median)', warmBare.wall_s.toFixed(2), '1.00 (warm)', mb(warmBare.max_rss_kb)]);
    rows.push(['minmax, warm process (the same)', warmMinmax.wall_s.toFixed(2), `${(warmMinmax.wall_s / warmBare.wall_s).toFixed(2)} (warm)`, mb(warmMinmax.max_rss_kb)]);
    // a long-lived calibrator keeps the built session for the next job of the same model (session-cache.ts)
    const keptMinmax = child({ ...base, method: 'minmax', repeat: 6, keepSessions: true });
    rows.push(['minmax, warm process, session kept between jobs', keptMinmax.wall_s.toFixed(2), `${(keptMinmax.wall_s / warmBare.wall_s).toFixed(2)} (warm)`, mb(keptMinmax.max_rss_kb)]);
    print();
  }
  console.log('targets: minmax <= 1.2x, entropy <= 1.5x bare inference (wall time of the whole job from the model file: ours reads, decodes and');
  console.log('analyses it, builds its session and runs; the baseline hands onnxruntime-node the file and runs every sample)');
}

fs.rmSync(tmp, { recursive: true, force: true });
