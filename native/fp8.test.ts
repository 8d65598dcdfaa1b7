/**
 * FP8 E4M3FN casts against ml_dtypes (python): bit-identical codes for every float32 in the
 * finite range, where ml_dtypes' non-saturating cast and ONNX Cast(saturate=1) agree.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import * as N from './index.js';
import { writeNpyF32 } from './npy.js';
import * as R from './reference.js';
import { assertSameArray, rng } from './testkit.js';

const work = mkdtempSync(join(tmpdir(), 'modelopt-fp8-'));
after(() => rmSync(work, { recursive: true, force: true }));

function mlDtypesCodes(x: Float32Array): Uint8Array {
  const inp = join(work, 'x.npy');
  const out = join(work, 'y.bin');
  writeNpyF32(inp, x);
  const code = `import numpy as np, ml_dtypes, sys\nx = np.load(sys.argv[1])\nx.astype(ml_dtypes.float8_e4m3fn).view(np.uint8).tofile(sys.argv[2])`;
  execFileSync('python3', ['-c', code, inp, out]);
  return new Uint8Array(readFileSync(out));
}

describe('E4M3FN encode against ml_dtypes', () => {
  it('random values across the whole finite range, subnormals and rounding boundaries', async () => {
    const r = rng(17);
    const vals: number[] = [];
    for (let i = 0; i < 50000; i++) {
      const mag = 2 ** (r() * 20 - 12); // 2^-12 .. 2^8
      vals.push((r() < 0.5 ? -1 : 1) * Math.min(mag, 447.99));
    }
    // exact midpoints between neighbouring codes and their float32 neighbours
    const d = R.e4m3Decode(Uint8Array.from({ length: 126 }, (_, i) => i));
    const f32 = new Float32Array(1);
    const u32 = new Uint32Array(f32.buffer);
    for (let i = 0; i + 1 < d.length; i++) {
      f32[0] = (d[i]! + d[i + 1]!) / 2;
      const u = u32[0]!;
      for (const delta of [-1, 0, 1]) {
        u32[0] = u + delta;
        vals.push(f32[0]!, -f32[0]!);
      }
    }
    vals.push(0, -0, 448, -448, 450, 463.9, 2 ** -10, 2 ** -11, 3 * 2 ** -11, 1e-30, -1e-30);
    const x = Float32Array.from(vals);
    const expected = mlDtypesCodes(x);
    assertSameArray(R.e4m3Encode(x), expected, 'reference');
    assertSameArray(await N.e4m3Encode(x), expected, 'native');
  });
  it('saturation differs from ml_dtypes only above the finite range', () => {
    const x = Float32Array.of(465, 500, Infinity, -1e6);
    assert.deepEqual([...R.e4m3Encode(x)], [0x7e, 0x7e, 0x7e, 0xfe]);
    const ml = mlDtypesCodes(x);
    assert.deepEqual([...ml].map((b) => b & 0x7f), [0x7f, 0x7f, 0x7f, 0x7f]); // NaN there
  });
});
