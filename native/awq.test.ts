/**
 * AWQ clip search: the addon against the TypeScript reference and against the standalone numpy
 * implementation (bench/awq_clip_numpy.py, written from SPEC.md): identical alphas and losses.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import * as N from './index.js';
import { readNpyF32, writeNpyF32 } from './npy.js';
import * as R from './reference.js';
import { assertSameArray, normal, uniform } from './testkit.js';

const here = dirname(fileURLToPath(import.meta.url));
const script = join(here, '..', 'bench', 'awq_clip_numpy.py');
const work = mkdtempSync(join(tmpdir(), 'modelopt-awq-'));
after(() => rmSync(work, { recursive: true, force: true }));

let k = 0;
function numpyAwq(w: Float32Array, cin: number, cout: number, x: Float32Array, tokens: number, bs = 128, coBatch = 1024): { alphas: Float32Array; loss: Float32Array } {
  const id = k++;
  const wp = join(work, `w${id}.npy`);
  const xp = join(work, `x${id}.npy`);
  const ap = join(work, `a${id}.npy`);
  const lp = join(work, `l${id}.npy`);
  writeNpyF32(wp, w, [cin, cout]);
  writeNpyF32(xp, x, [tokens, cin]);
  execFileSync('python3', [script, wp, xp, ap, lp, String(bs), String(coBatch)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return { alphas: readNpyF32(ap).data, loss: readNpyF32(lp).data };
}

/** Activations with outlier channels (as real LLM activations), weights with a few large entries. */
function problem(cin: number, cout: number, tokens: number, seed: number): { w: Float32Array; x: Float32Array } {
  const w = normal(cin * cout, seed, 0.05);
  for (let i = 0; i < w.length; i += 97) w[i] = w[i]! * 6;
  const x = normal(tokens * cin, seed + 1, 1);
  const scale = uniform(cin, seed + 2, 0.2, 3);
  for (let t = 0; t < tokens; t++) for (let c = 0; c < cin; c++) x[t * cin + c] = x[t * cin + c]! * scale[c]!;
  return { w, x };
}

describe('AWQ clip search', () => {
  const cases: Array<[string, number, number, number, number, number]> = [
    ['256x40, 64 tokens', 256, 40, 64, 128, 1024],
    ['300x33 (padding), 100 tokens (no subsampling step)', 300, 33, 100, 128, 1024],
    ['128x20 (one block), 200 tokens (step 3)', 128, 20, 200, 128, 1024],
    ['100x9 (one padded block), 7 tokens', 100, 9, 7, 128, 1024],
    ['512x17, block 64', 512, 17, 70, 64, 1024],
    ['128x1 (batch of width 1: pairwise sums)', 128, 1, 64, 128, 1024],
    ['256x5, batches of 2 (last batch width 1)', 256, 5, 40, 128, 2],
    ['200x11, block 100 (not a multiple of 8)', 200, 11, 30, 100, 1024],
  ];
  for (const [name, cin, cout, tokens, bs, coBatch] of cases) {
    it(`${name}: native == reference == numpy`, async () => {
      const { w, x } = problem(cin, cout, tokens, cin + cout);
      const n = await N.awqClipSearch(w, cin, cout, x, tokens, { blockSize: bs, threads: 2, coBatch });
      const r = R.awqClipSearch(w, cin, cout, x, tokens, { blockSize: bs, coBatch });
      const py = numpyAwq(w, cin, cout, x, tokens, bs, coBatch);
      assert.equal(n.nBlocks, Math.ceil(cin / bs));
      assert.equal(n.tokensUsed, R.awqTokenRows(tokens).length);
      assertSameArray(n.alphas, r.alphas, 'native vs reference alphas');
      assertSameArray(n.loss, r.loss, 'native vs reference loss');
      assertSameArray(n.alphas, py.alphas, 'native vs numpy alphas');
      assertSameArray(n.loss, py.loss, 'native vs numpy loss');
      // the search is not trivial: several alphas get chosen
      if (cout > 4) assert.ok(new Set(n.alphas).size > 1);
    });
  }
  it('threads do not change the result', async () => {
    const { w, x } = problem(384, 70, 64, 5);
    const a = await N.awqClipSearch(w, 384, 70, x, 64, { threads: 1 });
    const b = await N.awqClipSearch(w, 384, 70, x, 64, { threads: 3 });
    assertSameArray(a.alphas, b.alphas, 'alphas');
    assertSameArray(a.loss, b.loss, 'loss');
  });
  it('degenerate inputs: zero weights and zero activations keep the first alpha (all losses 0)', async () => {
    const n = await N.awqClipSearch(new Float32Array(128 * 4), 128, 4, normal(64 * 128, 1), 64);
    assert.deepEqual([...n.alphas], [0.5, 0.5, 0.5, 0.5]);
    const m = await N.awqClipSearch(normal(128 * 4, 2), 128, 4, new Float32Array(64 * 128), 64);
    assert.deepEqual([...m.alphas], [0.5, 0.5, 0.5, 0.5]);
  });
  it('NaN activations give no finite loss: alpha defaults to 1', async () => {
    const x = normal(8 * 128, 3);
    x[0] = NaN;
    const n = await N.awqClipSearch(normal(128 * 2, 4), 128, 2, x, 8);
    assert.deepEqual([...n.alphas], [1, 1]);
    assert.ok(n.loss.every((v) => v === Infinity));
    assertSameArray(n.alphas, R.awqClipSearch(normal(128 * 2, 4), 128, 2, x, 8).alphas, 'reference');
  });
  it('empty token set and shape errors', async () => {
    const n = await N.awqClipSearch(normal(128 * 2, 4), 128, 2, new Float32Array(0), 0);
    assert.deepEqual([...n.alphas], [1, 1]);
    assert.equal(n.tokensUsed, 0);
    await assert.rejects(N.awqClipSearch(new Float32Array(10), 5, 3, new Float32Array(5), 1), /needs 15/);
    await assert.rejects(N.awqClipSearch(new Float32Array(15), 5, 3, new Float32Array(7), 1), /activations/);
  });
  it('chosen alphas reproduce the INT4 scales', async () => {
    const { w, x } = problem(256, 8, 64, 9);
    const { alphas } = await N.awqClipSearch(w, 256, 8, x, 64);
    const s = await N.int4BlockScales(w, 256, 8, { alpha: alphas });
    const s1 = await N.int4BlockScales(w, 256, 8);
    for (let i = 0; i < s.length; i++) {
      if (alphas[i] === 1) assert.equal(s[i], s1[i]);
      else assert.ok(s[i]! < s1[i]!);
    }
  });
});
