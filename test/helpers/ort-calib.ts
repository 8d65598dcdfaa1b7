/**
 * Test helpers standing in for the calibrator (services never import each other): run the model in
 * onnxruntime-node with every activation added as a graph output, and compute per-tensor ranges
 * (minmax, ORT entropy or ORT distribution via native/reference.ts), or capture activations for AWQ.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import { Graph, encodeModel, loadModel, onnx, type GraphProto, type ModelProto, type ValueInfoProto } from '../../services/core/onnx/index.js';
import type { CalibrationTable, CapturedActivation, TensorRange } from '../../services/core/quant-types.js';
import * as ref from '../../native/reference.js';
import type { OrtHistogram } from '../../native/types.js';
import { readNpz, splitFeeds } from './npz.js';
import { npyToTensor } from '../../services/exporter/compare.js';
import { REPO_ROOT, dataPath, modelPath } from './shared.js';
import { fp8ScaleFromStd } from '../../services/quantizer/fp8.js';

ort.env.logLevel = 'error';
const CACHE = path.join(REPO_ROOT, 'tmp', 'test-cache');

/** The shared model prepared like the graph-analyzer's Prepare (opset 13, names), cached on disk. */
export function preparedModelPath(name: string): string {
  fs.mkdirSync(CACHE, { recursive: true });
  const out = path.join(CACHE, `${name}.prepared.onnx`);
  if (!fs.existsSync(out)) {
    const tmp = `${out}.${process.pid}.tmp`;
    execFileSync('python3', [path.join(REPO_ROOT, 'test', 'helpers', 'prepare_model.py'), modelPath(name), tmp], { stdio: 'pipe' });
    fs.renameSync(tmp, out);
  }
  return out;
}

/** Feeds for a model from its npz, one per sample (rows split along axis 0 like the reference). */
export function loadFeeds(name: string, split: 'calib' | 'eval', maxSamples = Infinity): Record<string, ort.Tensor>[] {
  const arrays = readNpz(dataPath(name, split));
  const first = Object.values(arrays)[0]!;
  let n = first.shape[0] ?? 1;
  if (name === 'silero_vad_ifless') n = arrays['input']!.shape[0]!;
  const feeds = splitFeeds(arrays, n).slice(0, Math.min(n, maxSamples));
  return feeds.map((f) => Object.fromEntries(Object.entries(f).map(([k, v]) => {
    if (name === 'silero_vad_ifless' && k === 'sr') return [k, new ort.Tensor('int64', v.data as BigInt64Array, [])];
    return [k, npyToTensor(v)];
  })));
}

/**
 * All samples as one batch (for models with a dynamic batch dimension), the way onnxruntime's
 * quantize_static was fed for the `ort` goldens: with it our entropy thresholds match theirs.
 */
export function concatFeeds(feeds: Record<string, ort.Tensor>[]): Record<string, ort.Tensor>[] {
  if (feeds.length <= 1) return feeds;
  const out: Record<string, ort.Tensor> = {};
  for (const k of Object.keys(feeds[0]!)) {
    const parts = feeds.map((f) => f[k]!);
    if (parts[0]!.type !== 'float32') return feeds;
    const n = parts.reduce((a, p) => a + p.data.length, 0);
    const data = new Float32Array(n);
    let off = 0;
    for (const p of parts) {
      data.set(p.data as Float32Array, off);
      off += p.data.length;
    }
    out[k] = new ort.Tensor('float32', data, [parts.reduce((a, p) => a + p.dims[0]!, 0), ...parts[0]!.dims.slice(1)]);
  }
  return [out];
}

/** Activation tensors: inputs of nodes that are neither initializers nor Constant outputs. */
export function activationTensors(model: ModelProto): string[] {
  const g = new Graph(model.graph as GraphProto);
  const out = new Set<string>();
  for (const n of g.nodes) for (const i of n.input) if (i && !g.constantValue(i)) out.add(i);
  return [...out];
}

/** A copy of the model whose outputs are `tensors` (plus its own outputs), as bytes. */
export function augmentedModelBytes(model: ModelProto, tensors: readonly string[]): Uint8Array {
  const copy = onnx.ModelProto.decode(encodeModel(model)) as unknown as ModelProto;
  const g = copy.graph as GraphProto;
  const have = new Set(g.output.map((o) => o.name));
  const extra = tensors.filter((t) => !have.has(t)).map((t) => onnx.ValueInfoProto.create({ name: t }) as unknown as ValueInfoProto);
  g.output = [...g.output, ...extra];
  if (Number(copy.irVersion) < 7) copy.irVersion = 7;
  return encodeModel(copy);
}

export type RangeMethod = 'minmax' | 'entropy' | 'distribution';

/** Per-tensor calibration over the feeds, on every float activation. */
export async function calibrate(model: ModelProto, feeds: Record<string, ort.Tensor>[], method: RangeMethod): Promise<CalibrationTable> {
  const tensors = activationTensors(model);
  const session = await ort.InferenceSession.create(augmentedModelBytes(model, tensors), { graphOptimizationLevel: 'disabled' });
  const mins = new Map<string, number>();
  const maxs = new Map<string, number>();
  const hists = new Map<string, OrtHistogram>();
  for (const feed of feeds) {
    const res = await session.run(feed);
    for (const t of tensors) {
      const v = res[t];
      if (!v || v.type !== 'float32') continue;
      const d = v.data as Float32Array;
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < d.length; i++) {
        const x = d[i]!;
        if (x < lo) lo = x;
        if (x > hi) hi = x;
      }
      if (d.length === 0) lo = hi = 0;
      mins.set(t, Math.min(mins.get(t) ?? Infinity, lo));
      maxs.set(t, Math.max(maxs.get(t) ?? -Infinity, hi));
      if (method !== 'minmax') hists.set(t, ref.ortHistogramCollect(hists.get(t) ?? null, d, method === 'entropy' ? 128 : 512));
    }
  }
  await session.release();
  const ranges: Record<string, TensorRange> = {};
  for (const [t, min] of mins) {
    const max = maxs.get(t)!;
    const r: TensorRange = { tensor: t, min, max, low: min, high: max };
    if (method === 'entropy') {
      const th = ref.ortEntropyThreshold(hists.get(t)!);
      r.low = th.low;
      r.high = th.high;
    } else if (method === 'distribution') {
      const st = ref.ortDistribution(hists.get(t)!);
      r.scale = fp8ScaleFromStd(st.std);
    }
    ranges[t] = r;
  }
  return { method, samples: feeds.length, ranges };
}

/** Captures the given activation tensors (rows concatenated along axis 0) for AWQ. */
export async function captureActivations(model: ModelProto, feeds: Record<string, ort.Tensor>[], tensors: readonly string[]): Promise<CapturedActivation[]> {
  const session = await ort.InferenceSession.create(augmentedModelBytes(model, tensors), { graphOptimizationLevel: 'disabled' });
  const parts = new Map<string, Float32Array[]>();
  const shapes = new Map<string, number[]>();
  for (const feed of feeds) {
    const res = await session.run(feed, [...tensors]);
    for (const t of tensors) {
      const v = res[t]!;
      parts.set(t, [...(parts.get(t) ?? []), Float32Array.from(v.data as Float32Array)]);
      shapes.set(t, [...v.dims]);
    }
  }
  await session.release();
  return tensors.map((t) => {
    const ps = parts.get(t)!;
    const total = ps.reduce((a, p) => a + p.length, 0);
    const data = new Float32Array(total);
    let off = 0;
    for (const p of ps) {
      data.set(p, off);
      off += p.length;
    }
    const last = shapes.get(t)!.at(-1)!;
    return { tensor: t, shape: [total / last, last], data };
  });
}

export function loadPrepared(name: string): ModelProto {
  return loadModel(preparedModelPath(name));
}

/** Deterministic uniform [0,1) feeds for models without data (dynamic dims 1), like the reference's random provider. */
export function syntheticFeeds(model: ModelProto, count: number, seed = 0): Record<string, ort.Tensor>[] {
  let s = (seed * 2654435761 + 12345) >>> 0;
  const rnd = (): number => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const g = new Graph(model.graph as GraphProto);
  const out: Record<string, ort.Tensor>[] = [];
  for (let k = 0; k < count; k++) {
    const feed: Record<string, ort.Tensor> = {};
    for (const i of g.inputs) {
      const tt = i.type?.tensorType;
      const dims = (tt?.shape?.dim ?? []).map((d) => (d.dimValue && Number(d.dimValue) > 0 ? Number(d.dimValue) : 1));
      const n = dims.reduce((a, b) => a * b, 1);
      const et = Number(tt?.elemType ?? 1);
      if (et === 7) feed[i.name] = new ort.Tensor('int64', BigInt64Array.from({ length: n }, () => BigInt(Math.floor(rnd() * 100))), dims);
      else feed[i.name] = new ort.Tensor('float32', Float32Array.from({ length: n }, rnd), dims);
    }
    out.push(feed);
  }
  return out;
}
