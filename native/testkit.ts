/** Test helpers shared by native/*.test.ts: seeded data, adversarial sets, exact comparisons. */
import assert from 'node:assert/strict';
import { mulberry32 } from '../services/core/random.js';

/** mulberry32 seeded PRNG in [0, 1). */
export const rng = mulberry32;

export function normal(n: number, seed: number, scale = 1, mean = 0): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12);
    const v = r();
    out[i] = mean + scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

export function uniform(n: number, seed: number, lo: number, hi: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

const DENORM = 1.401298464324817e-45;

/** Named adversarial float32 inputs. */
export function adversarial(): Array<[string, Float32Array]> {
  const mixed = normal(3000, 7, 3);
  mixed[5] = NaN;
  mixed[17] = Infinity;
  mixed[99] = -Infinity;
  const withNaN = normal(1000, 8, 2);
  withNaN[3] = NaN;
  withNaN[500] = NaN;
  const withInf = normal(1000, 9, 2);
  withInf[10] = Infinity;
  const negInf = normal(1000, 10, 2);
  negInf[1] = -Infinity;
  return [
    ['empty', new Float32Array(0)],
    ['one', Float32Array.of(0.75)],
    ['one-negative', Float32Array.of(-3.5)],
    ['zeros', new Float32Array(257)],
    ['denormals', Float32Array.from({ length: 300 }, (_, i) => (i % 2 ? 1 : -1) * DENORM * (i + 1))],
    ['nan-only', Float32Array.of(NaN, NaN)],
    ['with-nan', withNaN],
    ['with-inf', withInf],
    ['with-neg-inf', negInf],
    ['mixed-nan-inf', mixed],
    ['huge', Float32Array.of(3e38, -3.4e38, 1, 0, -1e30)],
    ['positive', uniform(2000, 11, 0, 5)],
    ['ties', Float32Array.from({ length: 64 }, (_, i) => (i - 32) * 0.5)],
    ['normal', normal(20000, 12, 1.5, 0.2)],
  ];
}

/** Element-wise identity (Object.is: NaN equals NaN, +0 differs from -0). */
export function assertSameArray(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      assert.fail(`${what}: element ${i} differs: got ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

export function assertSameNumber(actual: number | null, expected: number | null, what: string): void {
  if (!Object.is(actual, expected)) assert.fail(`${what}: got ${actual}, expected ${expected}`);
}

/** JSON numbers from the python oracle ("NaN" / "Infinity" strings). */
export function num(v: number | string): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  throw new Error(`not a number: ${v}`);
}
