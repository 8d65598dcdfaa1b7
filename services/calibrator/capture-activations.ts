/**
 * CaptureActivations for INT4 AWQ-clip: the activation inputs of MatMul/Gemm nodes, flattened to
 * [tokens, Cin] over every calibration step, keeping only the rows the clip search reads: one row
 * per window of s = max(1, floor(tokens / maxTokens)) rows (SPEC §3, `max_tokens` = 64), on the
 * diagonal of services/core/awq-token-sampling.ts.
 *
 * Streaming: rows are picked as batches arrive, so memory is O(kept rows × Cin) per tensor. The
 * stride needs the total token count; it is predicted from the first batch (tokens per row of the
 * first input × rows of all steps) and checked on every batch. If a batch breaks the prediction
 * (activation sizes that do not scale with the batch rows), a counting pass runs first and the
 * capture is redone with the exact totals, so the result is always the reference's selection.
 *
 * The reference runs the model once per (weight, feed) and fetches one activation at a time; we
 * fetch all requested activations in one run per feed (same values, fewer runs).
 */
import type { ModelProto } from '../core/onnx/index.js';
import { loadModel } from '../core/onnx/index.js';
import { Cancelled, InvalidArgument } from '../core/errors.js';
import type { CapturedActivation } from '../core/quant-types.js';
import { awqTokenStride, awqWindowRow } from '../core/awq-token-sampling.js';
import { planCalibration, type CalibrationDataSpec, type CalibrationPlan } from './calibration-data.js';
import { CaptureSession, checkCapturable, type CaptureSessionOptions } from './capture-session.js';

export interface CaptureActivationsOptions {
  /** activation tensors (input 0 of MatMul/Gemm nodes). */
  tensors: readonly string[];
  data?: CalibrationDataSpec;
  /** rows to aim for (default 64). */
  maxTokens?: number;
  session?: CaptureSessionOptions;
  onProgress?: (p: { step: number; steps: number; pass: 'count' | 'capture' }) => void;
  signal?: AbortSignal;
}

/** Checks that every tensor is the activation input (input 0) of a MatMul or Gemm. */
export function checkMatMulActivations(model: ModelProto, tensors: readonly string[]): void {
  checkCapturable(model, tensors);
  const g = model.graph!;
  for (const t of tensors) {
    const ok = g.node.some((n) => (n.opType === 'MatMul' || n.opType === 'Gemm') && n.input[0] === t);
    if (!ok) throw new InvalidArgument(`tensor ${t} is not the activation input of a MatMul or Gemm node`);
  }
}

class RowPicker {
  readonly rows: Float32Array[] = [];
  private seen = 0;
  cin = -1;
  constructor(
    readonly tensor: string,
    public stride: number,
  ) {}
  /** takes the rows of one batch ([..., Cin] flattened). */
  add(data: Float32Array, dims: readonly number[]): number {
    const cin = dims.length ? dims[dims.length - 1] : 1;
    if (this.cin < 0) this.cin = cin;
    else if (cin !== this.cin) throw new InvalidArgument(`activation ${this.tensor}: last dimension changed from ${this.cin} to ${cin}`);
    const rows = cin === 0 ? 0 : data.length / cin;
    // the kept row of every window that overlaps global rows [seen, seen+rows)
    const s = this.stride;
    for (let w = Math.floor(this.seen / s); w * s < this.seen + rows; w++) {
      const r = awqWindowRow(w, s) - this.seen;
      if (r >= 0 && r < rows) this.rows.push(data.slice(r * cin, (r + 1) * cin));
    }
    this.seen += rows;
    return rows;
  }
  result(): CapturedActivation {
    const cin = Math.max(this.cin, 0);
    const data = new Float32Array(this.rows.length * cin);
    this.rows.forEach((r, i) => data.set(r, i * cin));
    return { tensor: this.tensor, shape: [this.rows.length, cin], data };
  }
}

function rowsOfFirstInput(plan: CalibrationPlan, feeds: { name: string; dims: number[] }[]): number {
  const first = [...plan.inputs].map((i) => i.name).sort()[0];
  const f = feeds.find((x) => x.name === first)!;
  return f.dims.length ? f.dims[0] : 1;
}

export async function captureActivations(modelOrPath: ModelProto | string, opts: CaptureActivationsOptions): Promise<CapturedActivation[]> {
  const model = typeof modelOrPath === 'string' ? loadModel(modelOrPath) : modelOrPath;
  if (!opts.tensors.length) throw new InvalidArgument('no activations to capture were given');
  const maxTokens = opts.maxTokens ?? 64;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new InvalidArgument(`maxTokens must be a positive integer, got ${maxTokens}`);
  checkMatMulActivations(model, opts.tensors);
  const plan = planCalibration(model, opts.data);
  const session = await CaptureSession.create(model, opts.tensors, { ...opts.session, inputDims: plan.feedDims() }).catch((e) => {
    plan.close();
    throw e;
  });
  try {
    // rows of the first input per step (for the prediction)
    const totalRows = (() => {
      let n = 0;
      for (let i = 0; i < plan.steps; i++) n += plan.stepRows(i);
      return n;
    })();
    const strideFor = (tokens: number) => awqTokenStride(tokens, maxTokens);

    const capture = async (exactTokens: Map<string, number> | null): Promise<CapturedActivation[] | null> => {
      let pickers: RowPicker[] | null = null;
      let tokensPerRow: Map<string, number> | null = null;
      for (let i = 0; i < plan.steps; i++) {
        if (opts.signal?.aborted) throw new Cancelled('activation capture cancelled');
        const feeds = plan.feed(i);
        const rows = rowsOfFirstInput(plan, feeds);
        const out = await session.run(feeds);
        if (!pickers) {
          tokensPerRow = new Map();
          pickers = opts.tensors.map((t) => {
            const c = out.get(t)!;
            const cin = c.dims.length ? c.dims[c.dims.length - 1] : 1;
            const tokens = cin === 0 ? 0 : c.data.length / cin;
            tokensPerRow!.set(t, rows === 0 ? 0 : tokens / rows);
            const total = exactTokens ? exactTokens.get(t)! : (tokens / Math.max(rows, 1)) * totalRows;
            return new RowPicker(t, strideFor(Math.round(total)));
          });
        }
        for (const p of pickers) {
          const c = out.get(p.tensor)!;
          const got = p.add(c.data, c.dims);
          if (!exactTokens && got !== tokensPerRow!.get(p.tensor)! * rows) return null; // prediction broken
        }
        opts.onProgress?.({ step: i + 1, steps: plan.steps, pass: 'capture' });
      }
      return pickers!.map((p) => p.result());
    };

    const predicted = await capture(null);
    if (predicted) return predicted;
    // counting pass, then the exact capture
    const counts = new Map<string, number>(opts.tensors.map((t) => [t, 0]));
    for (let i = 0; i < plan.steps; i++) {
      if (opts.signal?.aborted) throw new Cancelled('activation capture cancelled');
      const out = await session.run(plan.feed(i));
      for (const t of opts.tensors) {
        const c = out.get(t)!;
        const cin = c.dims.length ? c.dims[c.dims.length - 1] : 1;
        counts.set(t, counts.get(t)! + (cin === 0 ? 0 : c.data.length / cin));
      }
      opts.onProgress?.({ step: i + 1, steps: plan.steps, pass: 'count' });
    }
    return (await capture(counts))!;
  } finally {
    await session.release().catch(() => undefined);
    plan.close();
  }
}
