/**
 * INT4 AWQ clip search: for each (block, output channel), the α in 0.50, 0.55, …, 1.00 whose clipped
 * RTN weight best preserves the block's partial dot products with the captured activations
 * (mean over tokens of the squared difference). Ascending scan with strict improvement, so ties keep
 * the smaller α; 1 where no loss is finite.
 *
 * `awqClipSearch` runs the native kernel when the addon is built and this plain implementation
 * otherwise; the plain one is also the oracle in tests.
 */
import { awqTokenRows } from '../core/awq-token-sampling.js';
import { int4BlockScales, int4DequantizeBlocks, int4QuantizeBlocks, INT4_BLOCK_SIZE, numBlocks } from './int4-rtn.js';

export const AWQ_ALPHAS: readonly number[] = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0];
export const AWQ_MAX_TOKENS = 64;
export const AWQ_CO_BATCH = 1024;

export interface AwqSearchResult {
  /** best α per (block, cout), laid out [nBlocks, cout] like the INT4 scales. */
  alphas: Float32Array;
  nBlocks: number;
  tokensUsed: number;
}

/**
 * Rows kept from [tokens, cin] activations: one per window of max(1, ⌊tokens/64⌋) rows, on a
 * diagonal through the windows (services/core/awq-token-sampling.ts says why it differs from the
 * reference's first row of each window). Returns the input itself when every row is kept.
 */
export function subsampleTokens(x: Float32Array, tokens: number, cin: number, maxTokens = AWQ_MAX_TOKENS): { x: Float32Array; tokens: number } {
  const rows = awqTokenRows(tokens, maxTokens);
  if (rows.length === tokens) return { x, tokens };
  const out = new Float32Array(rows.length * cin);
  rows.forEach((r, i) => out.set(x.subarray(r * cin, (r + 1) * cin), i * cin));
  return { x: out, tokens: rows.length };
}

/** Plain-TypeScript clip search on weight [cin, cout] and activations [tokens, cin]. */
export function awqClipSearchPlain(w: Float32Array, cin: number, cout: number, activations: Float32Array, tokens: number, blockSize = INT4_BLOCK_SIZE): AwqSearchResult {
  const { x, tokens: t } = subsampleTokens(activations, tokens, cin);
  const nb = numBlocks(cin, blockSize);
  const best = new Float32Array(nb * cout).fill(Infinity);
  const alphas = new Float32Array(nb * cout).fill(1);
  const diff = new Float32Array(cin * cout);
  const partial = new Float64Array(cout);
  for (const a of AWQ_ALPHAS) {
    const scales = int4BlockScales(w, cin, cout, blockSize, a);
    const deq = int4DequantizeBlocks(int4QuantizeBlocks(w, cin, cout, scales, blockSize), cin, cout, scales, blockSize);
    for (let i = 0; i < diff.length; i++) diff[i] = w[i]! - deq[i]!;
    const loss = new Float64Array(nb * cout);
    for (let b = 0; b < nb; b++) {
      const r0 = b * blockSize;
      const r1 = Math.min(cin, r0 + blockSize);
      for (let k = 0; k < t; k++) {
        partial.fill(0);
        for (let r = r0; r < r1; r++) {
          const xv = x[k * cin + r]!;
          if (xv === 0) continue;
          const row = r * cout;
          for (let c = 0; c < cout; c++) partial[c] += xv * diff[row + c]!;
        }
        for (let c = 0; c < cout; c++) loss[b * cout + c] += partial[c]! * partial[c]!;
      }
    }
    for (let i = 0; i < loss.length; i++) {
      const l = Math.fround(loss[i]! / t);
      if (l < best[i]!) {
        best[i] = l;
        alphas[i] = a;
      }
    }
  }
  return { alphas, nBlocks: nb, tokensUsed: t };
}

interface NativeAwq {
  awqClipSearch(weight: Float32Array, cin: number, cout: number, activations: Float32Array, tokens: number, opts?: { blockSize?: number }): Promise<{ alphas: Float32Array; nBlocks: number; tokensUsed: number }>;
}

let nativePromise: Promise<NativeAwq | null> | undefined;

/** The native kernels when the addon is built and loads, otherwise null. */
export function loadNativeAwq(): Promise<NativeAwq | null> {
  nativePromise ??= (async () => {
    if (process.env.MODELOPT_NO_NATIVE === '1') return null;
    try {
      const spec = '../../native/index.js';
      const mod = (await import(spec)) as Partial<NativeAwq> & { isNativeAvailable?: () => boolean };
      if (typeof mod.awqClipSearch !== 'function' || !mod.isNativeAvailable?.()) return null;
      return mod as NativeAwq;
    } catch {
      return null;
    }
  })();
  return nativePromise;
}

/** Clip search, native when available. Returns also which implementation ran. */
export async function awqClipSearch(w: Float32Array, cin: number, cout: number, activations: Float32Array, tokens: number, blockSize = INT4_BLOCK_SIZE): Promise<AwqSearchResult & { native: boolean }> {
  const native = await loadNativeAwq();
  if (native) {
    // rows are picked here; the kernel then keeps all of them (at most 127 rows: its stride is 1)
    const sub = subsampleTokens(activations, tokens, cin);
    const r = await native.awqClipSearch(w, cin, cout, sub.x, sub.tokens, { blockSize });
    return { alphas: r.alphas, nBlocks: r.nBlocks, tokensUsed: r.tokensUsed, native: true };
  }
  return { ...awqClipSearchPlain(w, cin, cout, activations, tokens, blockSize), native: false };
}
