/**
 * Runs the original and the quantized model in onnxruntime-node on the same inputs and compares every
 * output: cosine similarity, SNR (dB), max and mean absolute error and, for outputs of rank ≥ 2,
 * top-1 agreement (argmax over the last axis).
 */
import * as ort from 'onnxruntime-node';
import { FailedPrecondition, InvalidArgument } from '../core/errors.js';
import type { NpyArray } from './npz.js';

export interface OutputComparison {
  output: string;
  cosine: number;
  snrDb: number;
  maxAbsError: number;
  meanAbsError: number;
  top1Agreement?: number;
  elements: number;
}

export interface CompareResult {
  outputs: OutputComparison[];
  batches: number;
  /**
   * false when onnxruntime's graph optimizations rejected the quantized model (e.g. FP8 Q/DQ fused
   * into ops without float8 kernels) and it ran unoptimized (plain Q/DQ reference kernels).
   */
  quantizedOptimized: boolean;
}

export type Feed = Record<string, ort.Tensor>;

export function npyToTensor(a: NpyArray): ort.Tensor {
  switch (a.dtype) {
    case 'float32': return new ort.Tensor('float32', a.data as Float32Array, a.shape);
    case 'float64': return new ort.Tensor('float32', Float32Array.from(a.data as Float64Array), a.shape);
    case 'int64': return new ort.Tensor('int64', a.data as BigInt64Array, a.shape);
    case 'int32': return new ort.Tensor('int32', a.data as Int32Array, a.shape);
    case 'bool': return new ort.Tensor('bool', a.data as Uint8Array, a.shape);
    default: return new ort.Tensor('uint8', a.data as Uint8Array, a.shape);
  }
}

class Acc {
  dot = 0;
  na = 0;
  nb = 0;
  err2 = 0;
  maxAbs = 0;
  sumAbs = 0;
  n = 0;
  rows = 0;
  agree = 0;
  rank = 0;
  add(a: ArrayLike<number>, b: ArrayLike<number>, dims: readonly number[]): void {
    if (a.length !== b.length) throw new InvalidArgument(`output sizes differ: ${a.length} vs ${b.length}`);
    for (let i = 0; i < a.length; i++) {
      const x = a[i]!;
      const y = b[i]!;
      this.dot += x * y;
      this.na += x * x;
      this.nb += y * y;
      const e = Math.abs(x - y);
      this.err2 += e * e;
      this.sumAbs += e;
      if (e > this.maxAbs || Number.isNaN(e)) this.maxAbs = Number.isNaN(e) ? NaN : e;
    }
    this.n += a.length;
    this.rank = dims.length;
    const last = dims.at(-1) ?? 1;
    if (dims.length >= 2 && last > 1) {
      for (let r = 0; r < a.length / last; r++) {
        let ia = 0;
        let ib = 0;
        for (let k = 1; k < last; k++) {
          if (a[r * last + k]! > a[r * last + ia]!) ia = k;
          if (b[r * last + k]! > b[r * last + ib]!) ib = k;
        }
        this.rows++;
        if (ia === ib) this.agree++;
      }
    }
  }
  result(output: string): OutputComparison {
    const denom = Math.sqrt(this.na) * Math.sqrt(this.nb);
    const cosine = denom === 0 ? (this.na === this.nb ? 1 : 0) : Math.max(-1, Math.min(1, this.dot / denom));
    const snrDb = this.err2 === 0 ? Infinity : 10 * Math.log10(this.na / this.err2);
    const r: OutputComparison = { output, cosine, snrDb, maxAbsError: this.maxAbs, meanAbsError: this.n ? this.sumAbs / this.n : 0, elements: this.n };
    if (this.rows > 0) r.top1Agreement = this.agree / this.rows;
    return r;
  }
}

function toNumbers(t: ort.Tensor): ArrayLike<number> {
  if (t.type === 'int64' || t.type === 'uint64') return Array.from(t.data as BigInt64Array, Number);
  if (t.type === 'string') throw new InvalidArgument('string outputs cannot be compared');
  return t.data as ArrayLike<number>;
}

async function create(model: string | Uint8Array, level: ort.InferenceSession.SessionOptions['graphOptimizationLevel']): Promise<ort.InferenceSession> {
  // A comparison runs each session a few times: without the memory pattern, its second run does not fault in a
  // fresh block as large as a run's peak activations (see the calibrator's capture-session.ts).
  const opts: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: level, enableMemPattern: false };
  return typeof model === 'string' ? ort.InferenceSession.create(model, opts) : ort.InferenceSession.create(model, opts);
}

async function session(model: string | Uint8Array, what: string): Promise<{ s: ort.InferenceSession; optimized: boolean }> {
  try {
    return { s: await create(model, 'all'), optimized: true };
  } catch (first) {
    try {
      return { s: await create(model, 'disabled'), optimized: false };
    } catch {
      throw new FailedPrecondition(`onnxruntime cannot load the ${what} model: ${(first as Error).message.split('\n')[0]}`);
    }
  }
}

/** Compares `original` and `quantized` (paths or bytes) on `feeds`. */
export async function compareModels(original: string | Uint8Array, quantized: string | Uint8Array, feeds: readonly Feed[]): Promise<CompareResult> {
  if (feeds.length === 0) throw new InvalidArgument('no evaluation inputs');
  const a = (await session(original, 'original')).s;
  const bs = await session(quantized, 'quantized');
  const b = bs.s;
  try {
    const names = a.outputNames.filter((n) => b.outputNames.includes(n));
    if (names.length === 0) throw new InvalidArgument('the two models share no output name');
    const accs = new Map(names.map((n) => [n, new Acc()]));
    for (const feed of feeds) {
      const ra = await a.run(feed);
      let rb: ort.InferenceSession.ReturnType;
      try {
        rb = await b.run(feed);
      } catch (err) {
        throw new FailedPrecondition(`onnxruntime cannot run the quantized model: ${(err as Error).message.split('\n')[0]}`);
      }
      for (const n of names) accs.get(n)!.add(toNumbers(ra[n]!), toNumbers(rb[n]!), ra[n]!.dims);
    }
    return { outputs: names.map((n) => accs.get(n)!.result(n)), batches: feeds.length, quantizedOptimized: bs.optimized };
  } finally {
    await a.release();
    await b.release();
  }
}
