/**
 * Calibration data: validation against the model's inputs, array_split batching, random data.
 *
 * Rules (SPEC §2):
 *  - one array (single-input models only) or one array per external input, by name;
 *  - every input's shape after dim 0 must match the model's (dynamic dims accept anything), dtypes must match;
 *  - N = floor(rows of the first input / max(1, model batch)); inputs are taken in alphabetical order of
 *    their names for "first" [quirk of the reference, kept];
 *  - every input is split into N nearly equal chunks along axis 0 (numpy.array_split);
 *  - each step gets its own feed (the reference's every-step-sees-the-last-chunk quirk is not reproduced);
 *  - without data: one random feed, uniform [0,1) with dynamic dims 1, cast to the input dtype.
 */
import { mulberry32 } from '../core/random.js';
import type { ModelProto, ValueInfoProto } from '../core/onnx/index.js';
import { DataType, dataTypeName, floatToHalf } from '../core/onnx/index.js';
import { InvalidArgument } from '../core/errors.js';
import { MemoryArray, openNpy, openNpz, type ArraySource, type NpDtype, type NpTypedArray } from '../core/npy.js';

export interface ModelInput {
  name: string;
  dtype: NpDtype;
  /** dims; null for a dynamic dim (dim_param, -1, or unset). */
  dims: (number | null)[];
}

export interface Feed {
  name: string;
  dtype: NpDtype;
  dims: number[];
  data: NpTypedArray;
}

const ONNX_TO_NP: Record<number, NpDtype> = {
  [DataType.FLOAT]: 'float32',
  [DataType.FLOAT16]: 'float16',
  [DataType.INT64]: 'int64',
  [DataType.INT32]: 'int32',
  [DataType.BOOL]: 'bool',
};

/** External inputs (graph inputs that are not initializers), in graph order. */
export function modelInputs(model: ModelProto): ModelInput[] {
  const g = model.graph;
  if (!g) throw new InvalidArgument('model has no graph');
  const inits = new Set(g.initializer.map((t) => t.name));
  return (g.input as ValueInfoProto[])
    .filter((i) => !inits.has(i.name))
    .map((i) => {
      const tt = i.type?.tensorType;
      if (!tt) throw new InvalidArgument(`model input ${i.name} is not a tensor`);
      const dtype = ONNX_TO_NP[tt.elemType];
      if (!dtype) throw new InvalidArgument(`model input ${i.name} has dtype ${dataTypeName(tt.elemType)}, which calibration does not support`);
      const dims = (tt.shape?.dim ?? []).map((d) => {
        const v = d.dimValue;
        if (d.dimParam) return null;
        return v === null || v === undefined || v <= 0 ? null : Number(v);
      });
      return { name: i.name, dtype, dims };
    });
}

/** Model batch (SPEC §1): the common dim 0 of all inputs when they agree (dynamic = 1), else 1. */
export function modelBatch(inputs: ModelInput[]): number {
  const d0 = inputs.map((i) => (i.dims.length === 0 ? 1 : (i.dims[0] ?? 1)));
  return d0.length > 0 && d0.every((d) => d === d0[0]) ? d0[0] : 1;
}

/** Where the data comes from. */
export type CalibrationDataSpec =
  | { kind: 'file'; path: string }
  | { kind: 'arrays'; arrays: Record<string, { dtype: NpDtype; shape: number[]; data: NpTypedArray }> }
  | { kind: 'sources'; sources: Map<string, ArraySource> }
  | { kind: 'random'; seed?: number };

/** numpy.array_split boundaries of `len` rows into `n` sections: the first len % n get one more row. */
export function arraySplitBounds(len: number, n: number): number[] {
  const base = Math.floor(len / n);
  const extra = len % n;
  const bounds = [0];
  for (let i = 0; i < n; i++) bounds.push(bounds[i] + base + (i < extra ? 1 : 0));
  return bounds;
}

/** A validated plan: N steps, each step a feed per input cut with array_split. */
export class CalibrationPlan {
  readonly steps: number;
  private readonly bounds: Map<string, number[]>;
  /** notes for the caller (quirks applied, random data used...). */
  readonly notes: string[];

  constructor(
    readonly inputs: ModelInput[],
    private readonly sources: Map<string, ArraySource> | null,
    private readonly randomSeed: number,
    notes: string[],
  ) {
    this.notes = notes;
    this.bounds = new Map();
    if (!sources) {
      this.steps = 1;
      return;
    }
    const sorted = [...inputs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const batch = Math.max(1, modelBatch(inputs));
    const first = sources.get(sorted[0].name)!;
    const rows0 = first.shape.length === 0 ? 1 : first.shape[0];
    const n = Math.floor(rows0 / batch);
    if (n < 1) {
      throw new InvalidArgument(
        `calibration data has ${rows0} row(s) for input ${sorted[0].name}, fewer than one model batch (${batch}); nothing to calibrate on`,
      );
    }
    for (const inp of sorted) {
      const src = sources.get(inp.name)!;
      const rows = src.shape.length === 0 ? 1 : src.shape[0];
      if (rows < n || rows < batch) {
        throw new InvalidArgument(`calibration input ${inp.name} has ${rows} row(s); it must supply at least ${n} batch(es) of the model batch ${batch}`);
      }
      this.bounds.set(inp.name, arraySplitBounds(rows, n));
    }
    this.steps = n;
  }

  /** Rows of the alphabetically first input in step `i` (without reading the data). */
  stepRows(i: number): number {
    const first = [...this.inputs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))[0];
    if (!this.sources) {
      const d = first.dims.map((x) => x ?? 1);
      return d.length ? d[0] : 1;
    }
    const src = this.sources.get(first.name)!;
    if (src.shape.length === 0) return 1;
    const b = this.bounds.get(first.name)!;
    return b[i + 1] - b[i];
  }

  /**
   * The dims every feed of each input has, from the data: the model's dim 0 where the data is cut into
   * batches along it (null when the model leaves it dynamic: groups of steps change it), the data's dims
   * after that. A session built with these dims does not have to infer shapes symbolically (onnxruntime
   * built ppocr_det's min/max session in 80 instead of 144 ms with 640 x 640 set). Inputs whose data rank
   * differs from the model's are left out.
   */
  feedDims(): Map<string, (number | null)[]> {
    const out = new Map<string, (number | null)[]>();
    for (const inp of this.inputs) {
      if (!this.sources) {
        out.set(inp.name, randomFeedDims(inp));
        continue;
      }
      const shape = this.sources.get(inp.name)!.shape;
      if (shape.length !== inp.dims.length) continue;
      out.set(inp.name, shape.length === 0 ? [] : [inp.dims[0] ?? null, ...shape.slice(1)]);
    }
    return out;
  }

  /**
   * The dims of every input when each step in [start, end) feeds the same ones (the same rows per step),
   * else undefined: a session run one step at a time over that range can be built with all dims fixed.
   */
  sameStepDims(start: number, end: number): Map<string, (number | null)[]> | undefined {
    const dims = this.feedDims();
    if (!this.sources) return dims; // one random feed, every dim fixed already
    for (const [name, d] of dims) {
      if (d.length === 0) continue;
      const b = this.bounds.get(name)!;
      const rows = b[start + 1] - b[start];
      for (let i = start + 1; i < end; i++) if (b[i + 1] - b[i] !== rows) return undefined;
      d[0] = rows;
    }
    return dims;
  }

  /** Whether steps can be grouped into one run: every input has a dynamic dim 0 and real data. */
  canGroupSteps(): boolean {
    return this.sources !== null && this.inputs.every((i) => i.dims.length > 0 && i.dims[0] === null && this.sources!.get(i.name)!.shape.length > 0);
  }

  /**
   * Steps [i, j) as one feed (the chunks are contiguous rows, so this is rows bounds[i]..bounds[j] of
   * every input). Only when `canGroupSteps()`.
   */
  feedSteps(i: number, j: number): Feed[] {
    if (j - i === 1) return this.feed(i);
    if (!this.canGroupSteps()) throw new InvalidArgument('steps can only be grouped when every input has a dynamic batch dimension');
    if (i < 0 || j > this.steps || i >= j) throw new InvalidArgument(`steps [${i}, ${j}) out of range [0, ${this.steps})`);
    return this.inputs.map((inp) => {
      const src = this.sources!.get(inp.name)!;
      const b = this.bounds.get(inp.name)!;
      const count = b[j] - b[i];
      return { name: inp.name, dtype: inp.dtype, dims: [count, ...src.shape.slice(1)], data: src.readRows(b[i], count) };
    });
  }

  /** The feed of step `i` (0 ≤ i < steps), one array per input (read only: it may be a view of the data). */
  feed(i: number): Feed[] {
    if (i < 0 || i >= this.steps) throw new InvalidArgument(`step ${i} out of range [0, ${this.steps})`);
    if (!this.sources) return randomFeeds(this.inputs, this.randomSeed);
    return this.inputs.map((inp) => {
      const src = this.sources!.get(inp.name)!;
      const b = this.bounds.get(inp.name)!;
      const count = b[i + 1] - b[i];
      const data = src.readRows(b[i], count);
      const dims = src.shape.length === 0 ? [] : [count, ...src.shape.slice(1)];
      return { name: inp.name, dtype: inp.dtype, dims, data };
    });
  }

  /** settles when every source's data is in memory (an .npz opened with `inflateInBackground`); feeds read before it still work */
  async loaded(): Promise<void> {
    await Promise.all([...(this.sources?.values() ?? [])].map((s) => s.loaded));
  }

  close(): void {
    for (const s of this.sources?.values() ?? []) s.close?.();
  }
}

/** shape[1:] equality as the reference checks it (a scalar model input takes a [N] array: both tails are empty). */
function sameShapeTail(model: (number | null)[], data: readonly number[]): boolean {
  const mt = model.slice(1);
  const dt = data.slice(1);
  if (mt.length !== dt.length) return false;
  for (let k = 0; k < mt.length; k++) if (mt[k] !== null && mt[k] !== dt[k]) return false;
  return true;
}

function fmtDims(d: readonly (number | null)[]): string {
  return `[${d.map((x) => (x === null ? '?' : x)).join(',')}]`;
}

/**
 * Opens and validates the data against the model's inputs. `inflateInBackground`: a compressed .npz is inflated
 * on the thread pool while the caller goes on (`CalibrationPlan.loaded`); its dims and dtypes are checked here.
 */
export function planCalibration(model: ModelProto, spec: CalibrationDataSpec | undefined, opts: { inflateInBackground?: boolean } = {}): CalibrationPlan {
  const inputs = modelInputs(model);
  if (inputs.length === 0) throw new InvalidArgument('model has no external inputs to feed');
  const notes: string[] = [];
  if (!spec || spec.kind === 'random') {
    notes.push('no calibration data given: one random feed (uniform [0,1), dynamic dims 1, cast to the input dtype)');
    return new CalibrationPlan(inputs, null, spec?.kind === 'random' ? (spec.seed ?? 0) : 0, notes);
  }
  let named: Map<string, ArraySource>;
  if (spec.kind === 'file') {
    const p = spec.path.toLowerCase();
    if (p.endsWith('.npz')) named = openNpz(spec.path, { inflateInBackground: opts.inflateInBackground });
    else if (p.endsWith('.npy')) named = new Map([['', openNpy(spec.path)]]);
    else throw new InvalidArgument(`calibration data ${spec.path}: expected a .npy or .npz file`);
  } else if (spec.kind === 'arrays') {
    named = new Map();
    for (const [k, a] of Object.entries(spec.arrays)) named.set(k, new MemoryArray(k, a.dtype, a.shape, a.data));
  } else {
    named = spec.sources;
  }
  const closeAll = () => {
    for (const s of named.values()) s.close?.();
  };
  try {
    const sources = new Map<string, ArraySource>();
    // a single unnamed array (an .npy) or a single-entry map for a single-input model
    if (named.size === 1 && named.has('')) {
      if (inputs.length !== 1) {
        throw new InvalidArgument(`a single array was given but the model has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); give one array per input (.npz)`);
      }
      sources.set(inputs[0].name, named.get('')!);
    } else {
      const want = new Set(inputs.map((i) => i.name));
      const unknown = [...named.keys()].filter((k) => !want.has(k));
      const missing = [...want].filter((k) => !named.has(k));
      if (unknown.length || missing.length) {
        throw new InvalidArgument(
          `calibration data names do not match the model inputs: ` +
            (missing.length ? `missing ${missing.join(', ')}` : '') +
            (missing.length && unknown.length ? '; ' : '') +
            (unknown.length ? `not model inputs: ${unknown.join(', ')}` : ''),
        );
      }
      for (const [k, v] of named) sources.set(k, v);
    }
    for (const inp of inputs) {
      const src = sources.get(inp.name)!;
      if (src.dtype !== inp.dtype) {
        throw new InvalidArgument(`calibration input ${inp.name}: dtype ${src.dtype} does not match the model's ${inp.dtype}`);
      }
      if (!sameShapeTail(inp.dims, src.shape)) {
        throw new InvalidArgument(`calibration input ${inp.name}: shape ${fmtDims(src.shape)} does not match the model's ${fmtDims(inp.dims)} after dim 0`);
      }
    }
    if (inputs.length > 1) notes.push('batches are counted on the alphabetically first input name (reference behaviour)');
    return new CalibrationPlan(inputs, sources, 0, notes);
  } catch (e) {
    closeAll();
    throw e;
  }
}

/** The dims of an input's random feed: its dynamic dims are 1. */
function randomFeedDims(inp: ModelInput): number[] {
  return inp.dims.map((d) => d ?? 1);
}

export function randomFeeds(inputs: ModelInput[], seed = 0): Feed[] {
  const r = mulberry32(seed);
  return inputs.map((inp) => {
    const dims = randomFeedDims(inp);
    const n = dims.reduce((a, b) => a * b, 1);
    let data: NpTypedArray;
    switch (inp.dtype) {
      case 'float32': {
        const f = new Float32Array(n);
        for (let k = 0; k < n; k++) f[k] = r();
        data = f;
        break;
      }
      case 'float16': {
        const h = new Uint16Array(n);
        for (let k = 0; k < n; k++) h[k] = floatToHalf(r());
        data = h;
        break;
      }
      case 'int64':
        data = new BigInt64Array(n); // floor of [0,1) is 0 (reference behaviour)
        break;
      case 'int32':
        data = new Int32Array(n);
        break;
      case 'bool': {
        const b = new Uint8Array(n);
        for (let k = 0; k < n; k++) b[k] = r() !== 0 ? 1 : 0;
        data = b;
        break;
      }
    }
    return { name: inp.name, dtype: inp.dtype, dims, data };
  });
}
