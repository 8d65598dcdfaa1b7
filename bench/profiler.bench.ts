/**
 * The profiler's latency vs a bare timed loop of onnxruntime-node `session.run` on the same model,
 * session options and inputs. Prints both means and their ratio (target: within 5%).
 *
 *   node --import tsx bench/profiler.bench.ts [--rounds 2] [--duration 3] [--threads N]
 */
import fs from 'node:fs';
import ort from 'onnxruntime-node';
import { profileOrt } from '../services/profiler/ort-profile.js';
import { inputSpecs, randomFeeds } from '../services/profiler/random-inputs.js';
import { percentile } from '../services/profiler/stats.js';
import { modelPath } from '../test/helpers/shared.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const rounds = opt('rounds', 2);
const duration = opt('duration', 3);
/** intra-op threads for both sides; 0 = onnxruntime's default (as the reference). */
const threads = opt('threads', 0);
const threadOpt = threads > 0 ? { intraOpNumThreads: threads } : {};

const MODELS: Array<{ name: string; shapes?: Record<string, number[]> }> = [
  { name: 'mnist8' },
  { name: 'ppocr_cls', shapes: { x: [1, 3, 48, 192] } },
];

/**
 * Same session options and inputs as profileOrt; warm-up 0.2 s, then `iterations` runs. Returns the
 * mean over the whole block (total / n) and the median of the per-run times.
 */
async function bareLoop(bytes: Uint8Array, shapes: Record<string, number[]> | undefined, iterations: number): Promise<{ mean: number; median: number }> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', logSeverityLevel: 3, ...threadOpt });
  const feeds = randomFeeds(inputSpecs(session, shapes), 0);
  let warm = 0;
  while (warm < 200) {
    const t = performance.now();
    await session.run(feeds);
    warm += performance.now() - t;
  }
  const each: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    await session.run(feeds);
    each.push(performance.now() - t);
  }
  const mean = (performance.now() - t0) / iterations;
  await session.release();
  each.sort((a, b) => a - b);
  return { mean, median: percentile(each, 50) };
}

const fmt = (x: number) => x.toFixed(4);
const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(`profiler vs bare session.run loop (onnxruntime-node ${ort.env.versions.node}, ${rounds} interleaved rounds of ${duration}s, CPU EP, intra-op threads ${threads || 'default'})`);
console.log('model        | mean ms: profiler   bare    ratio | median ms: profiler   bare    ratio');
let worst = 0;
for (const m of MODELS) {
  const bytes = new Uint8Array(fs.readFileSync(modelPath(m.name)));
  const prof = { mean: [] as number[], median: [] as number[] };
  const bare = { mean: [] as number[], median: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    // interleave, alternating which side goes first, so that load on a shared machine hits both
    const runProfiler = async () => {
      const p = await profileOrt({ onnx: bytes }, { minDurationS: duration, layerwise: false, ...threadOpt, ...(m.shapes ? { shapes: m.shapes } : {}) });
      prof.mean.push(p.latencyMs.mean);
      prof.median.push(p.latencyMs.median);
      return p.iterations;
    };
    const runBare = async (n: number) => {
      const b = await bareLoop(bytes, m.shapes, n);
      bare.mean.push(b.mean);
      bare.median.push(b.median);
    };
    if (r % 2 === 0) {
      await runBare(await runProfiler());
    } else {
      const n = Math.round((duration * 1e3) / (bare.mean[bare.mean.length - 1] ?? 1));
      await runBare(Math.min(1000, Math.max(10, n)));
      await runProfiler();
    }
  }
  const meanRatio = avg(prof.mean) / avg(bare.mean);
  const medianRatio = avg(prof.median) / avg(bare.median);
  worst = Math.max(worst, Math.abs(medianRatio - 1));
  console.log(
    `${m.name.padEnd(12)} | ${fmt(avg(prof.mean)).padStart(17)} ${fmt(avg(bare.mean)).padStart(7)} ${meanRatio.toFixed(3).padStart(7)} |` +
      ` ${fmt(avg(prof.median)).padStart(19)} ${fmt(avg(bare.median)).padStart(7)} ${medianRatio.toFixed(3).padStart(7)}`,
  );
}
console.log(`worst |median ratio - 1| = ${(worst * 100).toFixed(1)}% (target ≤ 5%; means include scheduler outliers on a shared host)`);
