/**
 * Alternated A/B runs of the calibrator against bare inference, for changes of ~10% on a noisy machine
 * (docs/TEAM_NOTES.md): each round runs every variant once, in turn, each in its own process
 * (bench/calibrator-child.ts), and the table gives medians, minima, the median of the per-round ratios to the
 * first variant and the ratio of the minima.
 *
 *   node --import tsx bench/calibrator-ab.ts <case> [rounds] [label=json[@dir] ...]
 *
 * case: a model of ../shared/models that has calibration data (ppocr_cls, ppocr_det, ppocr_rec, gpt2_small, ...;
 * graph-analyzer's INT8 list) | ppocr_rec_ort (onnxruntime's list on its opset-13 copy; needs Python's onnxruntime).
 * Default variants: bare inference (onnxruntime-node on the file), then minmax. A variant's json is merged into
 * calibrator-child's arguments (`{"method":"minmax","reductionStepsPerRun":4}`) but for its `nodeFlags`
 * (a list of Node/V8 flags that process starts with: `{"method":"ort","nodeFlags":["--max-semi-space-size=1"]}`) and
 * its `env` (added to the environment: `{"method":"ort","env":{"GLIBC_TUNABLES":"glibc.malloc.hugetlb=1"}}`), and `@dir` runs it
 * from another checkout: `git worktree add /tmp/old <commit>`, with node_modules and native/build linked into it.
 * The prepared models and tensor lists are cached in $TMPDIR/modelopt-calib-ab.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareFile } from '../services/graph-analyzer/prepare.js';
import { analyze } from '../services/graph-analyzer/analyze.js';
import { saveModel } from '../services/core/onnx/index.js';
import { SHARED } from '../test/helpers/shared.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const cache = path.join(os.tmpdir(), 'modelopt-calib-ab');
fs.mkdirSync(cache, { recursive: true });

/** the model, data and tensor list of a case, prepared once */
function prepared(name: string): { model: string; data: string; tensors: string } {
  const source = name === 'ppocr_rec_ort' ? 'ppocr_rec' : name;
  const data = path.join(SHARED, 'data', `${source}.calib.npz`);
  const model = path.join(cache, `${name}.onnx`);
  const tensors = path.join(cache, `${name}.tensors.json`);
  if (!fs.existsSync(model) || !fs.existsSync(tensors)) {
    const original = path.join(SHARED, 'models', `${source}.onnx`);
    if (name === 'ppocr_rec_ort') {
      const r = spawnSync('python3', [path.join(here, 'calibrator_ort.py'), 'prepare', original, model, tensors], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`python failed: ${r.stderr.slice(-2000)}`);
    } else {
      const p = prepareFile(original);
      saveModel(p.model, model);
      const list = analyze(p.model, { quantizeMode: 'int8' }).tensorsToCalibrate;
      if (list.length === 0) throw new Error(`graph-analyzer selects no tensor of ${name} for INT8: nothing to calibrate`);
      fs.writeFileSync(tensors, JSON.stringify(list));
    }
  }
  return { model, data, tensors };
}

const [name, roundsArg, ...variantArgs] = process.argv.slice(2);
const known = (n: string) => n === 'ppocr_rec_ort' || (fs.existsSync(path.join(SHARED, 'models', `${n}.onnx`)) && fs.existsSync(path.join(SHARED, 'data', `${n}.calib.npz`)));
if (!name || !known(name)) {
  console.error('usage: calibrator-ab.ts <model of ../shared/models with calibration data: ppocr_cls, ppocr_det, ...>|ppocr_rec_ort [rounds] [label=json[@dir] ...]');
  process.exit(2);
}
const rounds = Number(roundsArg ?? 8);
const variants = (variantArgs.length ? variantArgs : ['ort={"method":"ort","level":"all"}', 'minmax={"method":"minmax"}']).map((v) => {
  const eq = v.indexOf('=');
  const rest = v.slice(eq + 1);
  const at = rest.lastIndexOf('@');
  const json = at > rest.lastIndexOf('}') ? rest.slice(0, at) : rest;
  const { nodeFlags, env, ...args } = JSON.parse(json) as Record<string, unknown> & { nodeFlags?: string[]; env?: Record<string, string> };
  return { label: v.slice(0, eq), args, nodeFlags: nodeFlags ?? [], env: env ?? {}, dir: json === rest ? root : path.resolve(rest.slice(at + 1)) };
});
const base = prepared(name);
const walls = new Map<string, number[]>(variants.map((v) => [v.label, []]));
for (let r = 0; r < rounds; r++) {
  for (const v of variants) {
    const p = spawnSync(process.execPath, [...v.nodeFlags, '--import', 'tsx', path.join(v.dir, 'bench', 'calibrator-child.ts'), JSON.stringify({ ...base, ...v.args })], { encoding: 'utf8', cwd: v.dir, env: { ...process.env, ...v.env } });
    if (p.status !== 0) throw new Error(`${v.label} failed: ${p.stderr.slice(-2000)}`);
    walls.get(v.label)!.push((JSON.parse(p.stdout.trim().split('\n').pop()!) as { wall_s: number }).wall_s);
  }
}
const median = (a: readonly number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const first = walls.get(variants[0]!.label)!;
const rows = [['variant', 'median s', 'min s', 'median ratio', 'ratio of minima', 'per-round ratios']];
for (const v of variants) {
  const w = walls.get(v.label)!;
  const ratios = w.map((x, i) => x / first[i]!);
  rows.push([v.label, median(w).toFixed(3), Math.min(...w).toFixed(3), median(ratios).toFixed(3), (Math.min(...w) / Math.min(...first)).toFixed(3), ratios.map((x) => x.toFixed(2)).join(' ')]);
}
console.log(`${name}, ${rounds} alternated rounds (cpus ${os.cpus().length}, load ${os.loadavg()[0]!.toFixed(1)})`);
const width = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const r of rows) console.log(r.map((x, c) => x.padEnd(width[c]!)).join('  '));
