/**
 * The C++ addon against the TypeScript reference (native/reference.ts) on random and
 * adversarial data, plus hand-checked values so that the reference itself is pinned.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as N from './index.js';
import * as R from './reference.js';
import type { OrtAbsHistogram, OrtHistogram, TorchHistogram } from './types.js';
import { adversarial, assertSameArray, assertSameNumber, normal, rng, uniform } from './testkit.js';

const ADV = adversarial();
const hasNonFinite = (x: Float32Array) => x.some((v) => !Number.isFinite(v));

function sameHist(a: OrtHistogram | OrtAbsHistogram | TorchHistogram, b: OrtHistogram | OrtAbsHistogram | TorchHistogram, what: string): void {
  assertSameArray(a.hist, b.hist, `${what} hist`);
  assertSameArray(a.edges, b.edges, `${what} edges`);
  for (const k of ['min', 'max', 'threshold'] as const) {
    if (k in b) assertSameNumber((a as unknown as Record<string, number>)[k]!, (b as unknown as Record<string, number>)[k]!, `${what} ${k}`);
  }
}

describe('addon loading', () => {
  it('loads and reports capabilities', () => {
    assert.equal(N.isNativeAvailable(), true);
    const c = N.capabilities();
    assert.equal(c.cpu, true);
    assert.equal(typeof c.cuda, 'boolean');
    assert.equal(typeof c.tensorrt, 'boolean');
    assert.ok(c.devices.some((d) => d.kind === 'cpu'));
    assert.ok(c.threads >= 1);
  });
  it('every reference kernel has a native twin', () => {
    assert.deepEqual(Object.keys(N.native).sort(), Object.keys(R.reference).sort());
  });
});

describe('amax', () => {
  for (const [name, x] of ADV) {
    it(`per tensor: ${name}`, async () => {
      assert.deepEqual(await N.amax(x), R.amax(x));
    });
  }
  it('hand-checked', () => {
    const r = R.amax(Float32Array.of(NaN, -3, 2, Infinity));
    assert.deepEqual(r, { amax: Infinity, min: -3, max: Infinity, count: 4, nanCount: 1, infCount: 1 });
    assert.deepEqual(R.amax(new Float32Array(0)), { amax: 0, min: 0, max: 0, count: 0, nanCount: 0, infCount: 0 });
  });
  const x = normal(2 * 3 * 5 * 7, 3);
  x[4] = NaN;
  x[11] = -Infinity;
  for (const keep of [[0], [1], [3], [-1], [0, 2], [1, 3], [], [0, 1, 2, 3]]) {
    it(`per axis keep [${keep}]`, async () => {
      const n = await N.amaxPerAxis(x, [2, 3, 5, 7], keep);
      const r = R.amaxPerAxis(x, [2, 3, 5, 7], keep);
      assert.deepEqual(n.shape, r.shape);
      assertSameArray(n.amax, r.amax, 'amax');
      assert.equal(n.nanCount, 1);
      assert.equal(n.infCount, 1);
    });
  }
  it('per axis hand-checked', () => {
    const r = R.amaxPerAxis(Float32Array.of(1, -5, 3, -2, 4, NaN), [2, 3], [0]);
    assert.deepEqual([...r.amax], [5, 4]);
    assert.deepEqual(r.shape, [2]);
  });
  it('rejects a shape that does not match', async () => {
    await assert.rejects(N.amaxPerAxis(new Float32Array(5), [2, 3], [0]), /elements/);
  });
});

describe('ORT histogram collection (collect_value + merge)', () => {
  const batchesSets: Array<[string, Float32Array[]]> = [
    ['growing', [normal(4000, 1, 1), normal(3000, 2, 3), normal(5000, 3, 0.5), normal(2000, 4, 10)]],
    ['shrinking', [normal(4000, 5, 5), normal(3000, 6, 1)]],
    ['zeros-then-data', [new Float32Array(100), normal(1000, 7, 2)]],
    ['empty-then-data', [new Float32Array(0), normal(1000, 8, 2)]],
    ['positive', [uniform(1000, 9, 0, 1), uniform(1000, 10, 0, 7)]],
  ];
  for (const [name, x] of ADV) batchesSets.push([`adversarial ${name}`, [x, normal(500, 13, 4)]]);
  for (const bins of [128, 2048, 1001]) {
    for (const [name, batches] of batchesSets) {
      it(`${bins} bins: ${name}`, async () => {
        let n: OrtHistogram | null = null;
        let r: OrtHistogram | null = null;
        for (const b of batches) {
          // where numpy.histogram fails (non-finite or collapsed edges, NaN/Inf under the
          // ModelOpt patch, denormal ranges), both implementations fail with the same message
          let rErr: Error | null = null;
          let next: OrtHistogram | null = null;
          try {
            next = R.ortHistogramCollect(r, b, bins);
          } catch (e) {
            rErr = e as Error;
          }
          if (rErr) {
            assert.match(rErr.message, /bins/);
            await assert.rejects(N.ortHistogramCollect(n, b, bins), (e: Error) => e.message === rErr!.message);
            return;
          }
          r = next;
          n = await N.ortHistogramCollect(n, b, bins);
          sameHist(n, r!, name);
        }
      });
    }
  }
  /** x and its float32 neighbours one and two ulps either side. */
  const aroundF32 = (x: number): number[] => {
    const f = new Float32Array(1);
    const u = new Int32Array(f.buffer);
    const out: number[] = [];
    for (const d of [-2, -1, 0, 1, 2]) {
      f[0] = x;
      if (x === 0) continue;
      u[0] += x > 0 ? d : -d;
      out.push(f[0]!);
    }
    return out;
  };
  // The native binning multiplies by n / range where numpy divides by the range; the final bins must still be
  // numpy's for values on and next to every edge (the correction step settles each estimate on the edges).
  for (const [bins, t] of [[128, 6.75], [2048, 3.1], [1001, 1e-3], [65536, 17.5], [70000, 2.5], [128, 3e37]] as const) {
    it(`${bins} bins, range ±${t}: values on and one or two ulps beside every edge fall where numpy puts them`, async () => {
      const edges = R.ortHistogramCollect(null, Float32Array.of(-t, t), bins).edges;
      const xs: number[] = [];
      for (let k = 0; k < edges.length; k += Math.max(1, Math.floor(edges.length / 4096))) xs.push(...aroundF32(edges[k]!));
      const batch = Float32Array.from(xs.filter((v) => Math.abs(v) <= Math.fround(t)));
      batch[0] = -t;
      batch[1] = t;
      sameHist(await N.ortHistogramCollect(null, batch, bins), R.ortHistogramCollect(null, batch, bins), `edges ${bins}`);
    });
  }
  it('a range narrow next to its magnitude (|x| in [1000, 1000.01]: edges a few ulps apart) bins as numpy does', async () => {
    const x = Float32Array.from(uniform(5000, 41, 1000, 1000.01));
    for (const bins of [128, 100]) sameHist(await N.ortAbsHistogramCollect(null, x, bins), R.ortAbsHistogramCollect(null, x, bins), `narrow ${bins}`);
  });
  it('counts every finite value once', () => {
    const x = normal(10000, 21, 2);
    let h: OrtHistogram | null = null;
    h = R.ortHistogramCollect(h, x.subarray(0, 5000));
    h = R.ortHistogramCollect(h, Float32Array.from(x.subarray(5000), (v) => v * 4));
    assert.equal(h.hist.reduce((a, b) => a + b, 0), 10000);
    assert.equal(h.hist.length, h.edges.length - 1);
    assert.ok(h.hist.length > 128 && (h.hist.length - 128) % 2 === 0);
  });
  it('NaN/Inf patch: max -> float32 max, so numpy cannot build the edges', () => {
    assert.throws(() => R.ortHistogramCollect(null, Float32Array.of(1, NaN, 2)), /Too many bins/);
    const h = R.ortHistogramCollect(null, Float32Array.of(1, -Infinity, 2), 1);
    assert.equal(h.min, R.FLT_TINY);
    assert.equal(h.max, 2);
    assert.equal(h.threshold, 2);
  });
  it('merge of shards with equal edges adds counts exactly', async () => {
    const a = R.ortHistogramCollect(null, normal(1000, 31, 1));
    const b0 = normal(1000, 32, 1);
    const b = R.ortHistogramCollect(null, b0.map((v) => Math.max(-a.threshold, Math.min(a.threshold, v))));
    const bSame = { ...b, edges: a.edges, threshold: a.threshold };
    const m = await N.ortHistogramMerge(a, bSame);
    assert.equal(m.hist.reduce((s, v) => s + v, 0), 2000);
    sameHist(m, R.ortHistogramMerge(a, bSame), 'merge-same');
  });
  it('merge of shards with different ranges', async () => {
    const a = R.ortHistogramCollect(null, normal(1000, 33, 1));
    const b = R.ortHistogramCollect(null, normal(1000, 34, 6));
    const m = await N.ortHistogramMerge(a, b);
    sameHist(m, R.ortHistogramMerge(a, b), 'merge-diff');
    assert.equal(m.hist.reduce((s, v) => s + v, 0), 2000);
    assert.ok(m.threshold >= b.threshold);
  });
});

describe('ORT absolute-value histogram (percentile collector)', () => {
  const sets: Array<[string, Float32Array[]]> = [
    ['growing', [normal(3000, 41, 1), normal(3000, 42, 4)]],
    ['same', [normal(3000, 43, 2), normal(3000, 44, 1)]],
    ['zeros', [new Float32Array(50), normal(100, 45, 1)]],
    ['one', [Float32Array.of(2), Float32Array.of(-7.5)]],
    ['empty-first', [new Float32Array(0), normal(100, 46, 1)]],
    ['nan-later', [normal(100, 47, 1), Float32Array.of(NaN, 3, -9)]],
  ];
  for (const bins of [2048, 100]) {
    for (const [name, batches] of sets) {
      it(`${bins} bins: ${name}`, async () => {
        let n: OrtAbsHistogram | null = null;
        let r: OrtAbsHistogram | null = null;
        for (const b of batches) {
          n = await N.ortAbsHistogramCollect(n, b, bins);
          r = R.ortAbsHistogramCollect(r, b, bins);
          sameHist(n, r, name);
        }
      });
    }
  }
  it('rejects a non-finite first batch like numpy', async () => {
    assert.throws(() => R.ortAbsHistogramCollect(null, Float32Array.of(1, NaN)), /not finite/);
    await assert.rejects(N.ortAbsHistogramCollect(null, Float32Array.of(1, Infinity)), /not finite/);
  });
});

describe('ORT calibration searches', () => {
  const hists: Array<[string, OrtHistogram]> = [];
  let h: OrtHistogram | null = null;
  for (const [i, s] of [1, 3, 0.5].entries()) h = R.ortHistogramCollect(h, normal(5000, 50 + i, s), 128);
  hists.push(['128 grown', h!]);
  hists.push(['2048', R.ortHistogramCollect(null, normal(20000, 60, 1), 2048)]);
  hists.push(['2048 laplace-ish', R.ortHistogramCollect(null, normal(20000, 61, 1).map((v) => v * v * v), 2048)]);
  hists.push(['zeros', R.ortHistogramCollect(null, new Float32Array(100), 128)]);
  hists.push(['one value', R.ortHistogramCollect(null, Float32Array.of(2.5), 2048)]);
  hists.push(['-inf patched', R.ortHistogramCollect(null, Float32Array.of(1, -Infinity, -2, 3), 256)]);
  for (const [name, hh] of hists) {
    it(`entropy: ${name}`, async () => {
      assert.deepEqual(await N.ortEntropyThreshold(hh, 128), R.ortEntropyThreshold(hh, 128));
    });
    it(`percentile: ${name}`, async () => {
      for (const p of [99.999, 99.9, 50, 100, 0]) {
        assert.deepEqual(await N.ortPercentile(hh, p, true), R.ortPercentile(hh, p, true));
        assert.deepEqual(await N.ortPercentile(hh, p, false), R.ortPercentile(hh, p, false));
      }
    });
    if (hh.hist.length >= 512) {
      it(`distribution: ${name}`, async () => {
        assert.deepEqual(await N.ortDistribution(hh, 'same'), R.ortDistribution(hh, 'same'));
        assert.deepEqual(await N.ortDistribution(hh, 'p3'), R.ortDistribution(hh, 'p3'));
      });
    }
  }
  it('entropy on sparse histograms (empty bins near zero, sparse tails, few values) and small num_quantized_bins', async () => {
    // the native search counts nonzero bins per merged bin from prefix counts, corrected at the two folded ends
    for (let seed = 1; seed <= 12; seed++) {
      let x = normal(20000, 80 + seed, 1 + (seed % 5));
      if (seed % 3 === 0) x = x.map((v) => (Math.abs(v) < 1.5 ? 0 : v));
      if (seed % 3 === 1) x = x.map((v, i) => (i % 7 === 0 ? v * 50 : v * 0.01));
      if (seed % 4 === 2) x = x.subarray(0, 300);
      for (const bins of [130, 257, 2048]) {
        const hh = R.ortHistogramCollect(null, x, bins);
        for (const nq of [128, 16, 3]) assert.deepEqual(await N.ortEntropyThreshold(hh, nq), R.ortEntropyThreshold(hh, nq), `seed ${seed}, ${bins} bins, ${nq} quantized`);
      }
    }
  });
  it('entropy clamps to the observed range', () => {
    const hh = R.ortHistogramCollect(null, uniform(5000, 70, 0.5, 4), 256);
    const t = R.ortEntropyThreshold(hh);
    assert.ok(t.low >= hh.min && t.high <= hh.max);
  });
  it('errors', async () => {
    await assert.rejects(N.ortPercentile(hists[0]![1], 101), /percentile/);
    await assert.rejects(N.ortDistribution(hists[0]![1]), /512/);
    await assert.rejects(N.ortEntropyThreshold(R.ortHistogramCollect(null, normal(10, 1), 64), 128), /fewer/);
  });
});

describe('torch histogram calibrator', () => {
  const sets: Array<[string, Float32Array[], boolean]> = [
    ['growing', [normal(5000, 80, 1), normal(5000, 81, 3)], false],
    ['same', [normal(5000, 82, 2), normal(5000, 83, 0.5)], false],
    ['skip zeros', [Float32Array.from(normal(3000, 84, 1), (v, i) => (i % 3 ? v : 0))], true],
    ['zeros then data', [new Float32Array(10), normal(100, 85, 1)], false],
    ['nan dropped', [Float32Array.of(NaN, 1, -2, 0.5)], false],
    ['positive', [uniform(4000, 86, 0, 3)], false],
  ];
  for (const [name, batches, skipZeros] of sets) {
    it(`collect + searches: ${name}`, async () => {
      let n: TorchHistogram | null = null;
      let r: TorchHistogram | null = null;
      for (const b of batches) {
        n = await N.torchHistogramCollect(n, b, { skipZeros });
        r = R.torchHistogramCollect(r, b, { skipZeros });
        assert.ok(n && r);
        sameHist(n, r, name);
      }
      assertSameNumber(await N.torchEntropyAmax(n), R.torchEntropyAmax(r), 'entropy');
      assertSameNumber(await N.torchMseAmax(n), R.torchMseAmax(r), 'mse');
      assertSameNumber(await N.torchMseAmax(n, { format: 'e4m3' }), R.torchMseAmax(r, { format: 'e4m3' }), 'mse e4m3');
      // coarse grids from the first bins on: many candidates whose errors differ by a rounding or two
      for (const o of [{ numBits: 2, startBin: 1 }, { numBits: 3, startBin: 1 }, { numBits: 4, unsigned: true, startBin: 7, stride: 5 }]) {
        assertSameNumber(await N.torchMseAmax(n, o), R.torchMseAmax(r, o), `mse ${JSON.stringify(o)}`);
      }
      assertSameNumber(await N.torchPercentileAmax(n), R.torchPercentileAmax(r), 'percentile');
      assertSameNumber(await N.torchPercentileAmax(n, 50), R.torchPercentileAmax(r, 50), 'percentile 50');
      assertSameNumber(await N.torchEntropyAmax(n, { numBits: 4, startBin: 16, stride: 3 }), R.torchEntropyAmax(r, { numBits: 4, startBin: 16, stride: 3 }), 'entropy 4 bit');
    });
  }
  it('empty collection gives null', async () => {
    assert.equal(await N.torchHistogramCollect(null, new Float32Array(0)), null);
    assert.equal(await N.torchEntropyAmax(null), null);
    assert.equal(R.torchMseAmax(null), null);
    assert.equal(R.torchPercentileAmax(null), null);
  });
  it('extension keeps the bin width', () => {
    let h = R.torchHistogramCollect(null, Float32Array.of(0, 1, 2, 4), { numBins: 8 })!;
    assert.equal(h.hist.length, 8);
    h = R.torchHistogramCollect(h, Float32Array.of(6), { numBins: 8 })!;
    assert.equal(h.hist.length, 12);
    assert.equal(h.edges[1]! - h.edges[0]!, 0.5);
    assert.equal(h.hist.reduce((a, b) => a + b, 0), 5);
    assert.equal(h.hist[11], 1);
  });
  it('percentile is the left edge of the crossing bin', () => {
    const h = { hist: Float64Array.of(50, 30, 20), edges: Float32Array.of(0, 1, 2, 3) };
    assert.equal(R.torchPercentileAmax(h, 60), 1);
    assert.equal(R.torchPercentileAmax(h, 100), 2);
  });
});

describe('integer quantization', () => {
  it('hand-checked half-even fake quant', () => {
    const q = R.fakeQuantInt(Float32Array.of(0.5, 1.5, 2.5, -2.5, 200, -200), 127);
    assert.deepEqual([...q], [0, 2, 2, -2, 127, -128]);
    const qn = R.fakeQuantInt(Float32Array.of(-200), 127, { narrow: true });
    assert.deepEqual([...qn], [-127]);
    assert.deepEqual([...R.fakeQuantInt(Float32Array.of(1, 2), 1e-9)], [0, 0]);
  });
  for (const [name, x] of ADV) {
    for (const opts of [{}, { narrow: true }, { numBits: 4 }, { numBits: 16 }]) {
      it(`fakeQuantInt ${name} ${JSON.stringify(opts)}`, async () => {
        for (const a of [1, 0.37, 3.5, 0, 1e-30, 1e30]) {
          assertSameArray(await N.fakeQuantInt(x, a, opts), R.fakeQuantInt(x, a, opts), `amax ${a}`);
        }
      });
    }
    it(`quantizeInt ${name}`, async () => {
      for (const a of [1, 2.75, 0]) {
        const n = await N.quantizeInt(x, a);
        const r = R.quantizeInt(x, a);
        assertSameArray(n.values, r.values, 'values');
        assertSameArray(n.scales, r.scales, 'scales');
        assert.ok(n.values instanceof Int8Array);
      }
    });
  }
  it('unsigned', async () => {
    const x = uniform(1000, 90, 0, 4);
    const n = await N.quantizeInt(x, 3, { unsigned: true });
    assert.ok(n.values instanceof Uint8Array);
    assertSameArray(n.values, R.quantizeInt(x, 3, { unsigned: true }).values, 'u8');
    assertSameArray(await N.fakeQuantInt(x, 3, { unsigned: true }), R.fakeQuantInt(x, 3, { unsigned: true }), 'fq u8');
    await assert.rejects(N.fakeQuantInt(Float32Array.of(-1), 1, { unsigned: true }), /non-negative/);
    assert.throws(() => R.fakeQuantInt(Float32Array.of(-1), 1, { unsigned: true }), /non-negative/);
  });
  it('per axis', async () => {
    const shape = [4, 3, 5];
    const x = normal(60, 91, 2);
    x[7] = NaN;
    for (const axis of [0, 1, 2, -1]) {
      const size = shape[(axis + 3) % 3]!;
      const am = Float32Array.from({ length: size }, (_, i) => (i === 1 ? 0 : 1 + i));
      assertSameArray(await N.fakeQuantIntPerAxis(x, shape, axis, am), R.fakeQuantIntPerAxis(x, shape, axis, am), `fq axis ${axis}`);
      const n = await N.quantizeIntPerAxis(x, shape, axis, am);
      const r = R.quantizeIntPerAxis(x, shape, axis, am);
      assertSameArray(n.values, r.values, 'values');
      assertSameArray(n.scales, r.scales, 'scales');
      assert.equal(r.scales[1], 1, 'zero amax reports scale 1');
    }
    await assert.rejects(N.fakeQuantIntPerAxis(x, shape, 0, new Float32Array(3)), /entries/);
    await assert.rejects(N.quantizeIntPerAxis(x, shape, 0, Float32Array.of(1, -1, 1, 1)), /non-negative/);
  });
  it('quantizeLinear / dequantizeLinear (ORT semantics)', async () => {
    const x = normal(5000, 92, 3);
    x[1] = NaN;
    x[2] = Infinity;
    const s = Float32Array.of(0.02);
    const z = Int32Array.of(3);
    const q = await N.quantizeLinear(x, s, z);
    assertSameArray(q, R.quantizeLinear(x, s, z), 'q');
    assertSameArray(await N.dequantizeLinear(q, s, z), R.dequantizeLinear(q, s, z), 'dq');
    const qu = await N.quantizeLinear(x, s, Int32Array.of(128), { signed: false });
    assert.ok(qu instanceof Uint8Array);
    assertSameArray(qu, R.quantizeLinear(x, s, Int32Array.of(128), { signed: false }), 'qu');
    const shape = [50, 100];
    const sa = Float32Array.from({ length: 100 }, (_, i) => 0.01 * (i + 1));
    const za = new Int32Array(100);
    const qa = await N.quantizeLinear(x, sa, za, { shape, axis: 1 });
    assertSameArray(qa, R.quantizeLinear(x, sa, za, { shape, axis: 1 }), 'per axis');
    assertSameArray(await N.dequantizeLinear(qa, sa, za, { shape, axis: 1 }), R.dequantizeLinear(qa, sa, za, { shape, axis: 1 }), 'dq axis');
    assert.deepEqual([...R.quantizeLinear(Float32Array.of(0.25, 0.75, -0.25, 1000), Float32Array.of(0.5), Int32Array.of(0))], [0, 2, 0, 127]);
  });
});

describe('FP8 E4M3FN', () => {
  it('hand-checked encodings', () => {
    const x = Float32Array.of(0, -0, 1, -1, 448, 464, 500, Infinity, -Infinity, NaN, 2 ** -9, 2 ** -10, 3 * 2 ** -11, 2 ** -6, 1.0625, 1.1875);
    assert.deepEqual([...R.e4m3Encode(x)], [0, 0x80, 0x38, 0xb8, 0x7e, 0x7e, 0x7e, 0x7e, 0xfe, 0x7f, 1, 0, 1, 0x08, 0x38, 0x3a]);
  });
  it('decode covers all 256 codes', async () => {
    const bits = Uint8Array.from({ length: 256 }, (_, i) => i);
    const d = R.e4m3Decode(bits);
    assertSameArray(await N.e4m3Decode(bits), d, 'decode');
    assert.equal(d[0x7e], 448);
    assert.ok(Number.isNaN(d[0x7f]!) && Number.isNaN(d[0xff]!));
    // encode(decode(b)) == b for every non-NaN code
    const back = R.e4m3Encode(d);
    for (let b = 0; b < 256; b++) if ((b & 0x7f) !== 0x7f) assert.equal(back[b], b, `code ${b}`);
  });
  it('rounding at every midpoint and its neighbours (native == reference)', async () => {
    const d = R.e4m3Decode(Uint8Array.from({ length: 127 }, (_, i) => i));
    const vals: number[] = [];
    const f32 = new Float32Array(1);
    const u32 = new Uint32Array(f32.buffer);
    for (let i = 0; i + 1 < d.length; i++) {
      f32[0] = (d[i]! + d[i + 1]!) / 2;
      for (const delta of [-1, 0, 1]) {
        const u = u32[0]!;
        u32[0] = u + delta;
        vals.push(f32[0]!, -f32[0]!);
        u32[0] = u;
      }
    }
    const x = Float32Array.from(vals);
    assertSameArray(await N.e4m3Encode(x), R.e4m3Encode(x), 'encode');
  });
  for (const [name, x] of ADV) {
    it(`encode / fake quant: ${name}`, async () => {
      assertSameArray(await N.e4m3Encode(x), R.e4m3Encode(x), 'encode');
      assertSameArray(await N.fakeQuantE4M3(x), R.fakeQuantE4M3(x), 'fq');
      for (const a of [1, 7.3, 448, 1e-3]) assertSameArray(await N.fakeQuantE4M3(x, a), R.fakeQuantE4M3(x, a), `fq amax ${a}`);
    });
  }
  it('tiny values give 0', () => {
    assert.deepEqual([...R.fakeQuantE4M3(Float32Array.of(1e-8, -1e-9), 1)], [0, 0]);
  });
});

describe('INT4 blocks and packing', () => {
  const cases: Array<[number, number]> = [
    [256, 16],
    [300, 7],
    [1, 3],
    [128, 1],
    [129, 5],
    [0, 4],
  ];
  for (const [cin, cout] of cases) {
    it(`RTN ${cin}x${cout}`, async () => {
      const w = normal(cin * cout, cin + cout, 0.1);
      if (w.length > 3) w[3] = 0.5;
      for (const bs of [128, 64, 7]) {
        const s = await N.int4BlockScales(w, cin, cout, { blockSize: bs });
        assertSameArray(s, R.int4BlockScales(w, cin, cout, { blockSize: bs }), 'scales');
        assert.equal(s.length, Math.ceil(cin / bs) * cout);
        const q = await N.int4QuantizeBlocks(w, cin, cout, s, bs);
        assertSameArray(q, R.int4QuantizeBlocks(w, cin, cout, s, bs), 'codes');
        assert.ok(q.every((v) => v >= -8 && v <= 7));
        assertSameArray(await N.int4DequantizeBlocks(q, cin, cout, s, bs), R.int4DequantizeBlocks(q, cin, cout, s, bs), 'dq');
        const alpha = uniform(s.length, 5, 0.5, 1);
        assertSameArray(await N.int4BlockScales(w, cin, cout, { blockSize: bs, alpha }), R.int4BlockScales(w, cin, cout, { blockSize: bs, alpha }), 'alpha scales');
        assertSameArray(await N.int4BlockScales(w, cin, cout, { blockSize: bs, alpha: 0.8 }), R.int4BlockScales(w, cin, cout, { blockSize: bs, alpha: 0.8 }), 'alpha scalar');
      }
    });
  }
  it('hand-checked RTN: scale = absmax/7, half-even, zero block', () => {
    const w = Float32Array.of(7, 3.5, -2.5, 0, 0.5, 0, 0, 0); // [4, 2]
    const s = R.int4BlockScales(w, 4, 2, { blockSize: 4 });
    assert.deepEqual([...s], [1, Math.fround(3.5 / 7)]);
    assert.deepEqual([...R.int4QuantizeBlocks(w, 4, 2, s, 4)], [7, 7, -2, 0, 0, 0, 0, 0]);
    const z = R.int4BlockScales(new Float32Array(4), 2, 2, { blockSize: 2 });
    assert.deepEqual([...R.int4QuantizeBlocks(new Float32Array(4), 2, 2, z, 2)], [0, 0, 0, 0]);
  });
  it('packing layout', async () => {
    assert.deepEqual([...R.packInt4(Int8Array.of(1, -1, 7))], [0xf1, 0x07]);
    assert.deepEqual([...(await N.packInt4(Int8Array.of(1, -1, 7)))], [0xf1, 0x07]);
    assert.deepEqual([...R.packInt4(Float32Array.of(2.5, -9, 7.6, NaN))], [0x82, 0x07]);
    assert.deepEqual([...R.packInt4(Uint8Array.of(15, 3, 20), true)], [0x3f, 0x0f]);
    assert.deepEqual([...R.packInt4(new Int8Array(0))], []);
  });
  it('pack / unpack round trip (native == reference)', async () => {
    const r = rng(3);
    for (const n of [0, 1, 2, 33, 1000]) {
      const v = Int8Array.from({ length: n }, () => Math.floor(r() * 16) - 8);
      const p = await N.packInt4(v);
      assertSameArray(p, R.packInt4(v), 'pack');
      assertSameArray(await N.unpackInt4(p, n), v, 'unpack');
      const u = Uint8Array.from({ length: n }, () => Math.floor(r() * 16));
      const pu = await N.packInt4(u, true);
      assertSameArray(pu, R.packInt4(u, true), 'pack u');
      assertSameArray(await N.unpackInt4(pu, n, true), u, 'unpack u');
      const f = Float32Array.from({ length: n }, () => (r() - 0.5) * 20);
      assertSameArray(await N.packInt4(f), R.packInt4(f), 'pack f32');
    }
    await assert.rejects(N.unpackInt4(new Uint8Array(1), 3), /cannot unpack/);
  });
  it('shape errors reject', async () => {
    await assert.rejects(N.int4BlockScales(new Float32Array(10), 3, 3), /needs 9/);
    await assert.rejects(N.int4QuantizeBlocks(new Float32Array(9), 3, 3, new Float32Array(2)), /scales/);
  });
});

describe('2:4 sparsity', () => {
  it('hand-checked patterns and ties', () => {
    const w = Float32Array.of(1, -5, 3, 0.5, 1, 1, 1, 1, 0, 0, 0, 0, 2, NaN, 2, 1);
    assert.deepEqual([...R.sparsity24Mask(w, 2, 8)], [0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0, 1, 0]);
  });
  it('native == reference', async () => {
    const w = normal(64 * 128, 99);
    w[10] = NaN;
    assertSameArray(await N.sparsity24Mask(w, 64, 128), R.sparsity24Mask(w, 64, 128), 'mask');
    const m = R.sparsity24Mask(w, 64, 128);
    for (let g = 0; g < m.length; g += 4) assert.equal(m[g]! + m[g + 1]! + m[g + 2]! + m[g + 3]!, 2);
    await assert.rejects(N.sparsity24Mask(new Float32Array(6), 2, 3), /multiple of 4/);
  });
});

describe('zero-copy inputs are not modified', () => {
  it('inputs keep their values', async () => {
    const x = normal(10000, 123, 2);
    const copy = x.slice();
    await Promise.all([N.amax(x), N.ortHistogramCollect(null, x), N.fakeQuantInt(x, 1), N.e4m3Encode(x), N.int4BlockScales(x, 100, 100)]);
    assertSameArray(x, copy, 'input');
    assert.ok(!hasNonFinite(x));
  });
});
