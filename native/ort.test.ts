/**
 * Histogram collection and calibration against the real onnxruntime 1.30 python package
 * (native/ort_oracle.py runs onnxruntime's HistogramCollector on the same float32 batches).
 * Counts and edges must match bit for bit; thresholds must match exactly.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import * as N from './index.js';
import * as R from './reference.js';
import type { OrtAbsHistogram, OrtHistogram } from './types.js';
import { assertSameArray, assertSameNumber, normal, num, uniform } from './testkit.js';
import { writeNpyF32 } from './npy.js';

const here = dirname(fileURLToPath(import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'modelopt-ort-'));
after(() => rmSync(work, { recursive: true, force: true }));

interface OracleHist {
  hist: number[];
  edges: Array<number | string>;
  min: number | string;
  max: number | string;
  threshold?: number | string;
}
interface OracleOut {
  value: OracleHist | { error: string };
  entropy: { low: number | string; high: number | string } | { error: string };
  distribution?: { avg: number | string; std: number | string; lowest: number | string; highest: number | string };
  percentile_value: { low: number | string; high: number | string };
  abs: OracleHist | { error: string };
  percentile_abs?: { low: number | string; high: number | string };
}

let counter = 0;
function oracle(batches: Float32Array[], numBins: number, percentile: number, absBins: number): OracleOut {
  const files = batches.map((b) => {
    const p = join(work, `b${counter++}.npy`);
    writeNpyF32(p, b);
    return p;
  });
  const spec = join(work, `s${counter++}.json`);
  writeFileSync(spec, JSON.stringify({ batches: files, num_bins: numBins, num_quantized_bins: 128, percentile, abs_num_bins: absBins, patched: true }));
  const out = execFileSync('python3', [join(here, 'ort_oracle.py'), spec], { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] });
  return JSON.parse(out) as OracleOut;
}

function checkAgainst(what: string, h: OrtHistogram | OrtAbsHistogram, o: OracleHist): void {
  assertSameArray(h.hist, Float64Array.from(o.hist), `${what} counts`);
  assertSameArray(h.edges, Float32Array.from(o.edges.map(num)), `${what} edges`);
  assertSameNumber(h.min, Math.fround(num(o.min)), `${what} min`);
  assertSameNumber(h.max, Math.fround(num(o.max)), `${what} max`);
  if (o.threshold !== undefined) assertSameNumber((h as OrtHistogram).threshold, Math.fround(num(o.threshold)), `${what} threshold`);
}

const cases: Array<{ name: string; batches: Float32Array[]; bins: number; percentile: number; absBins: number }> = [
  { name: 'normal, one batch, 128 bins', batches: [normal(20000, 1, 1.7)], bins: 128, percentile: 99.999, absBins: 2048 },
  { name: 'growing range merges (half_increased_bins)', batches: [normal(5000, 2, 1), normal(5000, 3, 3.3), normal(3000, 4, 0.2), normal(4000, 5, 9)], bins: 128, percentile: 99.99, absBins: 2048 },
  { name: '2048 bins + distribution', batches: [normal(30000, 6, 0.8, 0.3), normal(10000, 7, 1.1)], bins: 2048, percentile: 99.9, absBins: 1000 },
  { name: 'skewed positive data', batches: [uniform(8000, 8, 0, 6), uniform(8000, 9, 0, 13)], bins: 128, percentile: 99.999, absBins: 2048 },
  { name: 'zeros then data', batches: [new Float32Array(64), normal(4000, 10, 2)], bins: 256, percentile: 99.999, absBins: 512 },
  {
    name: 'NaN and Inf (ModelOpt patch)',
    batches: [Float32Array.from(normal(3000, 11, 2), (v, i) => (i === 7 ? NaN : i === 9 ? Infinity : v)), normal(2000, 12, 1)],
    bins: 128,
    percentile: 99.999,
    absBins: 2048,
  },
  {
    name: '-Inf only (min -> tiny)',
    batches: [Float32Array.from(normal(3000, 13, 2), (v, i) => (i === 5 ? -Infinity : v)), normal(2000, 14, 4)],
    bins: 128,
    percentile: 99.99,
    absBins: 2048,
  },
  { name: 'denormal range', batches: [Float32Array.from({ length: 50 }, (_, i) => (i - 25) * 1e-44)], bins: 128, percentile: 99.999, absBins: 2048 },
  { name: 'single value', batches: [Float32Array.of(0.3125)], bins: 128, percentile: 99.999, absBins: 2048 },
];

describe('onnxruntime parity (python onnxruntime 1.30 HistogramCollector)', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const o = oracle(c.batches, c.bins, c.percentile, c.absBins);
      let r: OrtHistogram | null = null;
      let n: OrtHistogram | null = null;
      if ('error' in o.value) {
        // numpy refused the histogram (e.g. NaN/Inf under the ModelOpt patch): so must we
        const msg = o.value.error;
        await assert.rejects(
          (async () => {
            for (const b of c.batches) n = await N.ortHistogramCollect(n, b, c.bins);
          })(),
          (e: Error) => e.message === msg,
        );
        assert.throws(() => c.batches.reduce<OrtHistogram | null>((s, b) => R.ortHistogramCollect(s, b, c.bins), null), (e: Error) => e.message === msg);
        return;
      }
      for (const b of c.batches) {
        r = R.ortHistogramCollect(r, b, c.bins);
        n = await N.ortHistogramCollect(n, b, c.bins);
      }
      checkAgainst('reference', r!, o.value);
      checkAgainst('native', n!, o.value);

      if ('error' in o.entropy) {
        assert.throws(() => R.ortEntropyThreshold(r!));
      } else {
        const e = { low: Math.fround(num(o.entropy.low)), high: Math.fround(num(o.entropy.high)) };
        const ref = R.ortEntropyThreshold(r!);
        const nat = await N.ortEntropyThreshold(n!);
        assert.deepEqual({ low: ref.low, high: ref.high }, e, 'reference entropy');
        assert.deepEqual({ low: nat.low, high: nat.high }, e, 'native entropy');
        assert.deepEqual(nat.divergences, ref.divergences, 'divergence of every candidate window');
      }
      const pv = { low: Math.fround(num(o.percentile_value.low)), high: Math.fround(num(o.percentile_value.high)) };
      assert.deepEqual(R.ortPercentile(r!, c.percentile, true), pv, 'percentile on value histogram');
      assert.deepEqual(await N.ortPercentile(n!, c.percentile, true), pv, 'native percentile on value histogram');
      if (o.distribution) {
        const d = o.distribution;
        const exp = { avg: num(d.avg), std: num(d.std), lowest: num(d.lowest), highest: num(d.highest) };
        assert.deepEqual(R.ortDistribution(r!), exp, 'reference distribution');
        assert.deepEqual(await N.ortDistribution(n!), exp, 'native distribution');
      }

      if ('error' in o.abs) {
        assert.throws(() => c.batches.reduce<OrtAbsHistogram | null>((s, b) => R.ortAbsHistogramCollect(s, b, c.absBins), null));
        return;
      }
      let ra: OrtAbsHistogram | null = null;
      let na: OrtAbsHistogram | null = null;
      for (const b of c.batches) {
        ra = R.ortAbsHistogramCollect(ra, b, c.absBins);
        na = await N.ortAbsHistogramCollect(na, b, c.absBins);
      }
      checkAgainst('reference abs', ra!, o.abs);
      checkAgainst('native abs', na!, o.abs);
      const pa = { low: Math.fround(num(o.percentile_abs!.low)), high: Math.fround(num(o.percentile_abs!.high)) };
      assert.deepEqual(R.ortPercentile(ra!, c.percentile, true), pa, 'reference percentile');
      assert.deepEqual(await N.ortPercentile(na!, c.percentile, true), pa, 'native percentile');
    });
  }
});
