/**
 * onnxruntime-node sessions for calibration. CaptureSession makes the tensors to capture graph outputs (as
 * the reference and onnxruntime's calibrators do), but unlike them keeps only the nodes those tensors
 * need: the model's own outputs are not computed. ReducingSession reduces the tensors inside the graph.
 */
import os from 'node:os';
import ort from 'onnxruntime-node';
import type { GraphProto, ModelProto, ValueInfoProto } from '../core/onnx/index.js';
import { constantNodeValue, defaultOpset, encodeEdited, halfToFloat, neededForTargets, onnx, tensorToFloat32 } from '../core/onnx/index.js';
import { InvalidArgument } from '../core/errors.js';
import type { Feed } from './calibration-data.js';
import { applySteps, derivableRanges, graphConstants, inDefaultDomain, type DerivedRange } from './derived-ranges.js';
import { scaledRange, scaledRanges, type ChannelRows, type ScaledRange } from './scaled-ranges.js';
import { knownRanks } from './tensor-ranks.js';
import { inferShapes, prod, type Shape } from './tensor-shapes.js';
import { nanChecks, type NanCheck } from './nan-free.js';

export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

export interface CaptureSessionOptions {
  /** onnxruntime graph optimisation level. Default 'basic' (measured fastest that keeps values equal; see docs). */
  graphOptimizationLevel?: GraphOptimizationLevel;
  intraOpNumThreads?: number;
  /**
   * The dims every feed will have, by input name (null: varies between runs), as CalibrationPlan.feedDims
   * gives them. The session's inputs are declared with them, so that onnxruntime infers concrete shapes
   * instead of symbolic ones when it builds the session (much of its build time on models with dynamic
   * image sizes). A feed of other dims is then rejected by onnxruntime.
   */
  inputDims?: ReadonlyMap<string, readonly (number | null)[]>;
}

/** `g`'s inputs declared with `dims` where given (and where the input declares a shape of the same rank). */
function withInputDims(g: GraphProto, dims: ReadonlyMap<string, readonly (number | null)[]> | undefined): GraphProto['input'] {
  if (!dims?.size) return g.input;
  return g.input.map((i) => {
    const d = dims.get(i.name);
    const shape = i.type?.tensorType?.shape;
    if (!d || !shape || shape.dim.length !== d.length) return i;
    const dim = shape.dim.map((old, k) => (d[k] === null ? old : onnx.TensorShapeProto.Dimension.create({ dimValue: d[k]! })));
    return onnx.ValueInfoProto.create({ ...i, type: { ...i.type, tensorType: { ...i.type!.tensorType!, shape: { dim } } } } as never) as unknown as (typeof g.input)[number];
  });
}

/** A captured tensor as float32. */
export interface Captured {
  dims: number[];
  data: Float32Array;
}

/** Names of every tensor the graph has: inputs, initializers, node outputs (top graph only). */
export function graphTensorKinds(model: ModelProto): Map<string, 'input' | 'initializer' | 'node'> {
  const g = model.graph!;
  const kinds = new Map<string, 'input' | 'initializer' | 'node'>();
  for (const t of g.initializer) kinds.set(t.name, 'initializer');
  for (const i of g.input) if (!kinds.has(i.name)) kinds.set(i.name, 'input');
  for (const n of g.node) for (const o of n.output) if (o) kinds.set(o, 'node');
  return kinds;
}

/** Checks that each name is a capturable activation; throws InvalidArgument otherwise. */
export function checkCapturable(model: ModelProto, tensors: readonly string[]): void {
  const kinds = graphTensorKinds(model);
  const missing = tensors.filter((t) => !kinds.has(t));
  if (missing.length) {
    throw new InvalidArgument(`tensor(s) not in the graph: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ` (+${missing.length - 10} more)` : ''}`);
  }
  const consts = tensors.filter((t) => kinds.get(t) === 'initializer');
  if (consts.length) throw new InvalidArgument(`tensor(s) are initializers, not activations: ${consts.slice(0, 10).join(', ')}`);
}

/**
 * onnxruntime's intra-op threads for a session: the caller's, else the cores this process may use (onnxruntime's
 * own default, its count of physical cores, gave run times that doubled from one session to the next on a 2-vCPU
 * machine).
 */
function sessionThreads(opts: CaptureSessionOptions): number {
  return opts.intraOpNumThreads ?? os.availableParallelism();
}

/** An onnxruntime CPU session on `model`, an edit of `original`; a load failure becomes InvalidArgument with `reason(message)`. */
async function openSession(model: ModelProto, original: ModelProto, opts: CaptureSessionOptions, reason: (message: string) => string): Promise<ort.InferenceSession> {
  const so: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: opts.graphOptimizationLevel ?? 'basic',
    executionProviders: ['cpu'],
    logSeverityLevel: 3,
    // No memory pattern: with it, onnxruntime's second run allocates one fresh block as large as a run's
    // peak activations, and a short pass pays for faulting in its pages once more (ppocr_det: +110 ms, 58 MB;
    // ppocr_cls, 8 samples per run: +24 ms, 9 MB). Later runs take the same time either way (per-run marks).
    enableMemPattern: false,
  };
  so.intraOpNumThreads = sessionThreads(opts);
  try {
    return await ort.InferenceSession.create(encodeEdited(model, original), so);
  } catch (e) {
    throw new InvalidArgument(reason((e as Error).message), { cause: e });
  }
}

function ortFeeds(feeds: Feed[]): Record<string, ort.Tensor> {
  const inputs: Record<string, ort.Tensor> = {};
  for (const f of feeds) inputs[f.name] = new ort.Tensor(f.dtype, f.data as never, f.dims);
  return inputs;
}

export class CaptureSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly tensors: readonly string[],
    private readonly inputNames: Set<string>,
    /** requested Constant node outputs: the same every run, so held here instead of fetched */
    private readonly held: ReadonlyMap<string, Captured>,
  ) {}

  static async create(model: ModelProto, tensors: readonly string[], opts: CaptureSessionOptions = {}): Promise<CaptureSession> {
    checkCapturable(model, tensors);
    const g = model.graph!;
    const held = heldConstants(g, tensors);
    // With tensors to capture, the graph is cut down to what they need and they are its only outputs;
    // with none, it is the model as it is (plain inference).
    const input = withInputDims(g, opts.inputDims);
    const fetched = tensors.filter((t) => !held.has(t));
    const graph = fetched.length ? { ...g, input, ...cutTo(g, fetched), output: outputsFor(g, fetched) } : { ...g, input };
    const augmented = { ...model, graph } as ModelProto;
    const session = await openSession(augmented, model, opts, (m) => `onnxruntime could not load the model: ${m}`);
    return new CaptureSession(session, [...tensors], new Set(session.inputNames), held);
  }

  /** Runs one feed and returns the requested tensors as float32 (float16 is widened). */
  async run(feeds: Feed[], fetch: readonly string[] = this.tensors): Promise<Map<string, Captured>> {
    const res = new Map<string, Captured>();
    // a copy each run: the caller owns what it is handed
    for (const name of fetch) {
      const h = this.held.get(name);
      if (h) res.set(name, { dims: [...h.dims], data: h.data.slice() });
    }
    const live = res.size ? fetch.filter((t) => !this.held.has(t)) : fetch;
    if (fetch.length > 0 && live.length === 0) return res;
    const inputs = ortFeeds(feeds);
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await this.session.run(inputs, live.length ? [...live] : [...this.session.outputNames]);
    } catch (e) {
      throw new InvalidArgument(`onnxruntime failed on the calibration data: ${(e as Error).message}`, { cause: e });
    }
    for (const name of live) {
      const t = out[name] as ort.Tensor;
      let data: Float32Array;
      if (t.type === 'float32') {
        data = t.data as Float32Array;
        // a graph input fetched as an output may alias the feed (onnxruntime issue 21922): copy it
        if (this.inputNames.has(name)) data = data.slice();
      } else if (t.type === 'float16') {
        const h = t.data as Uint16Array;
        data = new Float32Array(h.length);
        for (let k = 0; k < h.length; k++) data[k] = halfToFloat(h[k]);
      } else {
        throw new InvalidArgument(`tensor ${name} has dtype ${t.type}; only float32/float16 activations can be calibrated`);
      }
      res.set(name, { dims: [...t.dims], data });
    }
    return res;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * The requested float Constant node outputs, decoded, unless every requested tensor is one (a session still
 * runs then, as before).
 */
function heldConstants(g: GraphProto, tensors: readonly string[]): Map<string, Captured> {
  const wanted = new Set(tensors);
  const held = new Map<string, Captured>();
  for (const n of g.node) {
    const o = n.output[0];
    if (n.opType !== 'Constant' || !inDefaultDomain(n) || !o || !wanted.has(o)) continue;
    const t = constantNodeValue(n.attribute, o);
    if (t && (t.dataType === onnx.TensorProto.DataType.FLOAT || t.dataType === onnx.TensorProto.DataType.FLOAT16)) {
      held.set(o, { dims: t.dims.map(Number), data: tensorToFloat32(t) });
    }
  }
  if (held.size === wanted.size) held.clear();
  return held;
}

/**
 * The nodes and initializers that computing `tensors` needs (core's neededForTargets). An initializer
 * that is also a graph input (IR < 4) stays, or that input would become a required feed.
 */
function cutTo(g: GraphProto, tensors: readonly string[]): Pick<GraphProto, 'node' | 'initializer'> {
  const { node, read } = neededForTargets(g, tensors);
  const inputs = new Set(g.input.map((i) => i.name));
  return { node, initializer: g.initializer.filter((t) => read.has(t.name) || inputs.has(t.name)) };
}

/**
 * Graph outputs naming `tensors`: a graph output's own entry where there is one, else one without a
 * type (onnxruntime infers it; the graph's value_info, when present, is kept as is).
 */
function outputsFor(g: GraphProto, tensors: readonly string[]): ValueInfoProto[] {
  const declared = new Map(g.output.map((o) => [o.name, o]));
  return [...new Set(tensors)].map((t) => declared.get(t) ?? (onnx.ValueInfoProto.create({ name: t }) as unknown as ValueInfoProto));
}

/**
 * Inputs that ONNX requires to have rank >= 1, by op type: the input slots listed, or every input. A tensor read
 * there by some node of the graph cannot be a scalar.
 */
const RANK_AT_LEAST_ONE: ReadonlyMap<string, readonly number[] | 'every'> = new Map<string, readonly number[] | 'every'>([
  ['Conv', [0, 1]],
  ['ConvTranspose', [0, 1]],
  ['MatMul', 'every'],
  ['Gemm', [0, 1]],
  ['BatchNormalization', [0]],
  ['InstanceNormalization', [0]],
  ['LayerNormalization', [0]],
  ['MaxPool', [0]],
  ['AveragePool', [0]],
  ['GlobalAveragePool', [0]],
  ['GlobalMaxPool', [0]],
  ['Concat', 'every'],
  ['Softmax', [0]],
  ['LogSoftmax', [0]],
  ['Split', [0]],
  ['Gather', [0]],
]);

/** The tensors among `tensors` that some node reads where ONNX requires rank >= 1. */
function tensorsOfRankAtLeastOne(g: GraphProto, tensors: readonly string[]): Set<string> {
  const wanted = new Set(tensors);
  const out = new Set<string>();
  for (const n of g.node) {
    if ((n.domain ?? '') !== '' && n.domain !== 'ai.onnx') continue;
    const slots = RANK_AT_LEAST_ONE.get(n.opType);
    if (!slots) continue;
    n.input.forEach((t, k) => {
      if (wanted.has(t) && (slots === 'every' || slots.includes(k))) out.add(t);
    });
  }
  return out;
}

/** Whether float16 appears among the graph's inputs, initializers, value types or Cast targets. */
function mentionsFloat16(model: ModelProto): boolean {
  const F16 = onnx.TensorProto.DataType.FLOAT16;
  const g = model.graph!;
  const typed = [...g.input, ...g.output, ...g.valueInfo];
  if (typed.some((v) => v.type?.tensorType?.elemType === F16)) return true;
  if (g.initializer.some((t) => t.dataType === F16)) return true;
  return g.node.some((n) => (n.opType === 'Cast' || n.opType === 'Constant' || n.opType === 'ConstantOfShape') && n.attribute.some((a) => Number(a.i) === F16 || a.t?.dataType === F16));
}

/** Per-tensor reductions computed inside the graph for one batch. */
export interface Reduced {
  min: number;
  max: number;
  /** elements of the tensor in this batch. */
  size: number;
  /** false when the batch may hold NaN or ±Inf (an infinite min or max, or a NaN row sum): fetch the tensor itself then. */
  finite: boolean;
  /** min |x| (only when asked for). */
  absMin?: number;
}

/**
 * A session that reduces each requested tensor inside the graph, so that a min/max pass copies one small
 * vector out of onnxruntime instead of whole activations (onnxruntime's own MinMax calibrator also adds
 * ReduceMin/ReduceMax nodes). Per tensor: Flatten views it as [rows, rest] (an alias, no copy): one row
 * per sample and channel where the rank is known to be >= 3 (tensor-ranks.ts), else one per sample (a
 * tensor that may be a scalar is first Unsqueezed to [1]; one that some node reads where ONNX needs rank
 * >= 1 is not: ~150 fewer nodes to build on ppocr_rec), so that onnxruntime spreads the reductions over its
 * threads (a reduction to one value runs on one: per-channel rows halved ppocr_det's reduction time on two
 * cores); ReduceMin, ReduceMax and ReduceSum per row (the sum is the NaN check: onnxruntime's ReduceMin/Max
 * skip NaN, the sum does not; ±Inf shows in the min or max; a tensor whose NaN would show in a later
 * tensor's sums, or that cannot hold NaN while the reduced tensors it is computed from are finite, has no
 * sum: see nan-free.ts), and on request ReduceMin(Abs). A tensor's [rows, rest] dims come from its shape
 * inferred for the feed dims (tensor-shapes.ts); only where that is unknown does the graph report them through
 * Shape and Cast nodes (ppocr_cls, batch dim left dynamic: session build 173 -> 118 ms without them). The rows
 * are folded here. Only the nodes the tensors
 * need are kept: the model's own outputs are not computed. A tensor whose range follows exactly from another
 * requested tensor's (hard-swish's Clip(Add(x, 3), 0, 6) of x, and other float32 monotone steps: see
 * derived-ranges.ts) gets no reductions at all: its range is computed from its source's here; so does a
 * squeeze-excitation product x * a or x + x * a, from x's per-channel rows and a's values (scaled-ranges.ts).
 *
 * Every result goes into ONE float Concat, tensor after tensor. That matters: onnxruntime orders nodes by
 * a depth-first walk back from the graph's outputs, so the reductions of a tensor are scheduled right
 * after the tensor is produced, while it is still in cache, and its buffer is released at once. With one
 * Concat per kind (min, max, ...) only the first kind ran early; the rest ran at the end and kept every
 * captured activation alive (measured in bench/calibrator.bench.ts).
 */
export class ReducingSession {
  private static readonly OUT = '__modelopt_calib_reduced';

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly tensors: readonly string[],
    /** the tensors reduced in the graph, in the order of the reduction vector */
    private readonly reducedTensors: readonly string[],
    /** the others: ranges that follow exactly from a reduced tensor's (derived-ranges.ts) */
    readonly derived: ReadonlyMap<string, DerivedRange>,
    /** others still: squeeze-excitation products, whose ranges follow from two reduced tensors' rows (scaled-ranges.ts) */
    readonly scaled: ReadonlyMap<string, ScaledRange>,
    /** the reduced tensors whose rows scaled ranges read */
    private readonly rowSources: ReadonlySet<string>,
    /** how each reduced tensor's NaN is seen: its own sums, a later tensor's, or earlier ones being finite (nan-free.ts) */
    readonly nanChecks: ReadonlyMap<string, NanCheck>,
    /** the reduced tensors in graph order: each one's finiteness is settled after those it depends on */
    private readonly graphOrder: readonly string[],
    private readonly absMin: boolean,
    /** requested Constant node outputs, ranged from their values once */
    private readonly constants: ReadonlyMap<string, Reduced>,
    /** the reduced tensors sized from their inferred shapes (no Shape/Cast in the graph), with their views' axes */
    private readonly sizedStatically: ReadonlyMap<string, RowView>,
    /** each reduced tensor's Flatten axis: 1 for one row per sample, 2 for one per sample and channel */
    private readonly rowAxes: ReadonlyMap<string, number>,
    /** the small tensors handed back whole (their values, not row reductions): values per run and dim 0 */
    private readonly raw: ReadonlyMap<string, { values: number; samples: number }>,
    /** the graph the reduced tensors are computed by, for shapes at each run's feed dims */
    private readonly needed: GraphProto,
    private readonly opset: number,
  ) {}

  /** How a tensor reduced in the graph is cut into rows ('values': handed back whole; undefined for one not reduced there). */
  rowsOf(tensor: string): 'sample' | 'sample and channel' | 'values' | undefined {
    if (this.raw.has(tensor)) return 'values';
    const axis = this.rowAxes.get(tensor);
    return axis === undefined ? undefined : axis === 1 ? 'sample' : 'sample and channel';
  }

  /** row sizes by feed dims: a grouped pass feeds at most three different ones */
  private readonly sizesByDims = new Map<string, Map<string, RowSizes>>();

  /**
   * `deriveRanges: false` reduces every tensor in the graph, `nanChecks: 'all'` gives every reduced tensor
   * its NaN check (the tests that derived ranges and NaN-free tensors are exact use them).
   */
  static async create(
    model: ModelProto,
    requested: readonly string[],
    opts: CaptureSessionOptions & {
      absMin?: boolean;
      deriveRanges?: boolean;
      nanChecks?: 'all' | 'needed';
      staticShapes?: boolean;
      /** shapes the caller inferred for feeds of these dims (tensor-shapes.ts): not inferred again */
      knownShapes?: { dims: ReadonlyMap<string, readonly number[]>; shapes: ReadonlyMap<string, Shape> };
      /**
       * With `knownShapes` (every run feeds those dims): a tensor of at most this many values per run is handed
       * back whole instead of reduced (default RAW_VALUES_PER_RUN; 0: none).
       */
      rawValuesUpTo?: number;
    } = {},
  ): Promise<ReducingSession> {
    checkCapturable(model, requested);
    const g = model.graph!;
    const v = defaultOpset(model);
    const half = mentionsFloat16(model);
    // ranges that follow from another requested tensor's need no reductions (float32 steps only; min |x| does
    // not follow through them)
    const consts = graphConstants(g);
    const deriving = !half && !opts.absMin && opts.deriveRanges !== false;
    const derived = deriving ? derivableRanges(g, requested, consts) : new Map<string, DerivedRange>();
    const ranks = knownRanks(g, v);
    // Constant node outputs (onnxruntime's own tensor lists name hundreds in opset-13 models) are ranged once from
    // their values, as long as something else is left to reduce in the graph
    const constants = new Map<string, Reduced>();
    if (deriving) {
      for (const t of requested) {
        const c = derived.has(t) ? undefined : consts.tensors.get(t);
        if (c && c.dataType === onnx.TensorProto.DataType.FLOAT) constants.set(t, rangeOfValues(tensorToFloat32(c)));
      }
    }
    let candidates = requested.filter((t) => !derived.has(t) && !constants.has(t));
    if (candidates.length === 0) {
      candidates = requested.filter((t) => !derived.has(t));
      constants.clear();
    }
    const scaled = deriving ? scaledRanges(g, candidates, ranks, consts) : new Map<string, ScaledRange>();
    const tensors = candidates.filter((t) => !scaled.has(t));
    // the tensors whose rows scaled ranges read also report their dim 0 (samples), to line the rows up
    const rowSources = new Set([...scaled.values()].flatMap((r) => [r.source, r.factor]));
    // only what the reduced tensors need is computed: the model's own outputs are not fetched
    const needed = cutTo(g, tensors);
    const nodes = [...needed.node];
    const P = '__modelopt_calib';
    const INT = onnx.AttributeProto.AttributeType.INT;
    const INTS = onnx.AttributeProto.AttributeType.INTS;
    const mk = (opType: string, input: string[], output: string, attrs: Record<string, number | number[]> = {}) =>
      onnx.NodeProto.create({
        opType,
        input,
        output: [output],
        name: `${output}__node`,
        attribute: Object.entries(attrs).map(([name, x]) =>
          Array.isArray(x) ? onnx.AttributeProto.create({ name, ints: x, type: INTS }) : onnx.AttributeProto.create({ name, i: x, type: INT }),
        ) as never,
      }) as unknown as (typeof nodes)[number];
    // an axis input as a Constant node, made on first use (an initializer must also be a graph input before IR version 4)
    const axisNames = new Map<number, string>();
    const axisInput = (axis: number): string => {
      let name = axisNames.get(axis);
      if (name === undefined) {
        name = `${P}_axis_${axis < 0 ? `m${-axis}` : axis}`;
        axisNames.set(axis, name);
        const t = onnx.TensorProto.create({ name, dims: [1], dataType: onnx.TensorProto.DataType.INT64, int64Data: [axis] });
        nodes.push(onnx.NodeProto.create({ opType: 'Constant', output: [name], name: `${name}__node`, attribute: [onnx.AttributeProto.create({ name: 'value', t, type: onnx.AttributeProto.AttributeType.TENSOR })] }) as never);
      }
      return name;
    };
    // axes: an attribute up to opset 12 (Unsqueeze, ReduceSum) / 17 (ReduceMin/Max), an input after
    const reduce = (op: string, x: string, out: string) =>
      (op === 'ReduceSum' ? v >= 13 : v >= 18) ? mk(op, [x, axisInput(1)], out, { keepdims: 0 }) : mk(op, [x], out, { keepdims: 0, axes: [1] });
    const toFloat = { to: onnx.TensorProto.DataType.FLOAT };
    // Reduction nodes are added for the latest-produced tensor first, so that onnxruntime's walk (which
    // visits a node's inputs highest node index first) reaches each tensor's reductions right after it.
    const position = new Map<string, number>();
    g.node.forEach((n, i) => n.output.forEach((o) => position.set(o, i)));
    const byPositionDesc = tensors.map((t, k) => [t, k] as const).sort((a, b) => (position.get(b[0]) ?? -1) - (position.get(a[0]) ?? -1));
    // a tensor whose NaN shows in a later one's sums, or that cannot hold NaN while the tensors it is computed
    // from are finite, needs no sum
    const checks = opts.nanChecks === 'all' ? new Map(tensors.map((t) => [t, { kind: 'sum' } as NanCheck])) : nanChecks(g, tensors, consts);
    const rankAtLeastOne = tensorsOfRankAtLeastOne(g, tensors);
    // Tensors whose shape follows from the feed dims (tensor-shapes.ts) are sized from it at each run; the others
    // report their dims through Shape/Cast nodes. Known at these probe dims (a dynamic dim taken as 1) means known
    // at any: the rules that decide it do not depend on the numbers.
    const neededGraph = { ...g, node: needed.node, initializer: needed.initializer } as GraphProto;
    let probeShapes: ReadonlyMap<string, Shape> = new Map();
    if (opts.staticShapes !== false) {
      const probe = new Map<string, number[]>();
      for (const [name, d] of opts.inputDims ?? []) probe.set(name, d.map((x) => x ?? 1));
      probeShapes = opts.knownShapes?.shapes ?? inferShapes(neededGraph, probe, v);
    }
    // Where each run holds several samples, one row per sample already spreads a tensor's reductions over the
    // threads, and hands back far fewer values to fold than one row per sample and channel (ppocr_cls, 8 samples
    // per run: 838K row values over the pass to 22K). A tensor whose channel rows a scaled range reads keeps them.
    const threads = sessionThreads(opts);
    const rowsPerSample = (s: Shape | undefined): boolean => s !== undefined && s.length >= 1 && s[0]! >= Math.max(2, threads) * MIN_SAMPLE_ROWS_PER_THREAD;
    const sizedStatically = new Map<string, RowView>();
    const rowAxes = new Map<string, number>();
    // Small tensors at the dims every run feeds go into the vector whole: one Reshape instead of a Flatten and
    // two or three reductions to build (ppocr_cls: 27 tensors of at most 40 values per sample, 72 of 294 added
    // nodes, ~5 ms of onnxruntime's build). Not for float16 (a Cast more), min |x|, or a tensor whose channel
    // rows a scaled range reads, unless each row is one value.
    const raw = new Map<string, { values: number; samples: number }>();
    const rawUpTo = opts.rawValuesUpTo ?? RAW_VALUES_PER_RUN;
    const known = opts.knownShapes;
    // only where every run feeds the dims the shapes were inferred for: the session's inputs are declared with them
    const everyRunKnown =
      known !== undefined &&
      opts.inputDims !== undefined &&
      [...opts.inputDims].every(([name, d]) => {
        const k = known.dims.get(name);
        return k !== undefined && d.length === k.length && d.every((x, i) => x === k[i]);
      });
    if (known && everyRunKnown && rawUpTo > 0 && !half && !opts.absMin && v >= 5) {
      const producer = new Map<string, string>();
      for (const n of needed.node) for (const o of n.output) producer.set(o, n.opType);
      for (const t of tensors) {
        const s = known.shapes.get(t);
        // not a view's output: ppocr_cls's last tensor, a Reshape of a pooled one, handed back whole made
        // onnxruntime's first run fault in 38 MB more (a Reshape of a Reshape; its reductions do not)
        if (!s || VIEW_OPS.has(producer.get(t) ?? '')) continue;
        const values = prod(s);
        const oneValueRows = s.length >= 3 && prod(s.slice(2)) === 1;
        if (s.length >= 1 && values <= rawUpTo && (!rowSources.has(t) || oneValueRows)) raw.set(t, { values, samples: s[0]! });
      }
    }
    const parts: string[][] = [];
    for (const [t, k] of byPositionDesc) {
      const p = `${P}_${k}`;
      if (raw.has(t)) {
        // the int64 [-1] that axisInput makes for axis -1 is also Reshape's shape for "all values in one row"
        nodes.push(mk('Reshape', [t, axisInput(-1)], `${p}_values`));
        parts[k] = [`${p}_values`];
        continue;
      }
      const rank = ranks.get(t);
      // rows that onnxruntime reduces in parallel: [d0 * d1, rest] where the rank is known to be >= 3 (an
      // NCHW activation becomes one row per sample and channel), else [d0, rest] (a scalar is first made [1],
      // which Flatten needs; a tensor that some consumer requires to have rank >= 1 goes straight to Flatten).
      // Flatten is an alias, and measured cheaper to build than reductions over several axes of the tensor
      // itself (ppocr_det: session creation 148 vs 209 ms).
      let viewed = t;
      const unsqueezed = !rankAtLeastOne.has(t) && !(rank !== undefined && rank >= 1);
      if (unsqueezed) {
        viewed = `${p}_u`;
        nodes.push(v >= 13 ? mk('Unsqueeze', [t, axisInput(-1)], viewed) : mk('Unsqueeze', [t], viewed, { axes: [-1] }));
      }
      const axis = rank !== undefined && rank >= 3 && !(rowsPerSample(probeShapes.get(t)) && !rowSources.has(t)) ? 2 : 1;
      rowAxes.set(t, axis);
      nodes.push(mk('Flatten', [viewed], `${p}_rows`, { axis }));
      const sized = probeShapes.has(t);
      if (sized) sizedStatically.set(t, { unsqueezed, axis });
      else {
        nodes.push(mk('Shape', [`${p}_rows`], `${p}_shape`));
        nodes.push(mk('Cast', [`${p}_shape`], `${p}_dims`, toFloat));
      }
      nodes.push(reduce('ReduceMin', `${p}_rows`, `${p}_min`));
      nodes.push(reduce('ReduceMax', `${p}_rows`, `${p}_max`));
      const reduced = [`${p}_min`, `${p}_max`];
      if (checks.get(t)!.kind === 'sum') {
        nodes.push(reduce('ReduceSum', `${p}_rows`, `${p}_sum`));
        reduced.push(`${p}_sum`);
      }
      if (opts.absMin) {
        nodes.push(mk('Abs', [`${p}_rows`], `${p}_abs`));
        nodes.push(reduce('ReduceMin', `${p}_abs`, `${p}_absmin`));
        reduced.push(`${p}_absmin`);
      }
      // a float16 model's reductions are float16: widen them so that one float Concat takes them all
      const widened = half ? reduced.map((r) => (nodes.push(mk('Cast', [r], `${r}_f32`, toFloat)), `${r}_f32`)) : reduced;
      const samples: string[] = [];
      if (rowSources.has(t) && !sized) {
        // [d0, rest] of a second view, an alias like the first; folded to a constant where the dims are fixed
        nodes.push(mk('Flatten', [viewed], `${p}_samples_view`, { axis: 1 }));
        nodes.push(mk('Shape', [`${p}_samples_view`], `${p}_samples_shape`));
        nodes.push(mk('Cast', [`${p}_samples_shape`], `${p}_samples`, toFloat));
        samples.push(`${p}_samples`);
      }
      parts[k] = [...(sized ? [] : [`${p}_dims`]), ...samples, ...widened];
    }
    nodes.push(mk('Concat', parts.flat(), ReducingSession.OUT, { axis: 0 }));
    const outputs: ValueInfoProto[] = [onnx.ValueInfoProto.create({ name: ReducingSession.OUT }) as unknown as ValueInfoProto];
    const augmented: ModelProto = { ...model, graph: { ...g, input: withInputDims(g, opts.inputDims), node: nodes, initializer: needed.initializer, output: outputs } } as ModelProto;
    const session = await openSession(augmented, model, opts, (m) =>
      /type|Type/.test(m) && /int|bool/.test(m)
        ? `only float32/float16 activations can be calibrated (${m})`
        : `onnxruntime could not load the model with min/max reductions: ${m}`,
    );
    const graphOrder = [...byPositionDesc].reverse().map(([t]) => t);
    const reducing = new ReducingSession(session, [...requested], tensors, derived, scaled, rowSources, checks, graphOrder, opts.absMin === true, constants, sizedStatically, rowAxes, raw, neededGraph, v);
    if (opts.knownShapes) reducing.rowSizesAt(opts.knownShapes.dims, opts.knownShapes.shapes);
    return reducing;
  }

  async run(feeds: Feed[]): Promise<Map<string, Reduced>> {
    const inputs = ortFeeds(feeds);
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await this.session.run(inputs, [ReducingSession.OUT]);
    } catch (e) {
      throw new InvalidArgument(`onnxruntime failed on the calibration data: ${(e as Error).message}`, { cause: e });
    }
    const t = out[ReducingSession.OUT] as ort.Tensor;
    if (t.type !== 'float32') throw new InvalidArgument(`calibrated tensors must be float32/float16 activations (got ${t.type})`);
    // per tensor: rows, rest, then the row minima, maxima, sums where it has its NaN check (and minima of |x|)
    const v = t.data as Float32Array;
    const res = new Map<string, Reduced>();
    const nanSums = new Set<string>();
    const channelRows = new Map<string, ChannelRows>();
    const sizes = this.sizedStatically.size ? this.rowSizesAt(new Map(feeds.map((f) => [f.name, f.dims]))) : undefined;
    let q = 0;
    for (const name of this.reducedTensors) {
      const whole = this.raw.get(name);
      if (whole !== undefined) {
        // handed back whole: its exact NaN check, and for a scaled range's source or factor its rows (one value each)
        const { values, samples } = whole;
        if (holdsNaN(v, q, values)) nanSums.add(name);
        const all = v.subarray(q, q + values);
        if (this.rowSources.has(name)) channelRows.set(name, { samples, rows: values, rest: 1, min: all, max: all, finite: false });
        res.set(name, { min: smallest(v, q, values), max: largest(v, q, values), size: values, finite: false });
        q += values;
        continue;
      }
      const known = sizes?.get(name);
      let rows: number;
      let rest: number;
      let samples: number;
      if (known) ({ rows, rest, samples } = known);
      else {
        rows = v[q]!;
        rest = v[q + 1]!;
        q += 2;
        samples = v[q]!;
        if (this.rowSources.has(name)) q += 2;
      }
      if (this.rowSources.has(name)) channelRows.set(name, { samples, rows, rest, min: v.subarray(q, q + rows), max: v.subarray(q + rows, q + 2 * rows), finite: false });
      const hasSum = this.nanChecks.get(name)!.kind === 'sum';
      const absAt = (hasSum ? 3 : 2) * rows;
      const mn = smallest(v, q, rows);
      const mx = largest(v, q + rows, rows);
      const nanSum = hasSum && holdsNaN(v, q + 2 * rows, rows);
      const am = this.absMin ? smallest(v, q + absAt, rows) : Infinity;
      q += absAt + (this.absMin ? rows : 0);
      if (nanSum) nanSums.add(name);
      const red: Reduced = { min: mn, max: mx, size: rows * rest, finite: false };
      if (this.absMin) red.absMin = am;
      res.set(name, red);
    }
    if (q !== v.length) throw new Error(`reduction vector has ${v.length} values, parsed ${q}`);
    // ±Inf shows in the min or max. NaN, which they skip, makes its row's sum NaN (a sum that merely
    // overflows, over float32-max attention masks, is not NaN; one that overflows both ways is, and costs an
    // exact re-fetch); a tensor without a sum holds no NaN when its witness's sums saw none, or when the
    // tensors it is computed from are finite (earlier in graph order, so settled first).
    for (const name of this.graphOrder) {
      const red = res.get(name)!;
      const check = this.nanChecks.get(name)!;
      const noNaN =
        check.kind === 'sum' || this.raw.has(name)
          ? !nanSums.has(name)
          : check.kind === 'witness'
            ? !nanSums.has(check.witness) && res.get(check.witness)!.size > 0
            : [...check.sources].every((s) => res.get(s)?.finite === true);
      red.finite = noNaN && Number.isFinite(red.min) && Number.isFinite(red.max);
    }
    for (const [name, r] of this.constants) res.set(name, { ...r });
    // squeeze-excitation products from their sources' rows (not derived this run: fetched exactly), then the
    // chains, whose source may be such a product or a constant
    for (const [name, sr] of this.scaled) {
      const x = channelRows.get(sr.source)!;
      const a = channelRows.get(sr.factor)!;
      x.finite = res.get(sr.source)!.finite;
      a.finite = res.get(sr.factor)!.finite;
      const r = scaledRange(sr.form, x, a);
      res.set(name, { min: r?.min ?? NaN, max: r?.max ?? NaN, size: x.rows * x.rest, finite: r !== undefined });
    }
    for (const [name, d] of this.derived) {
      const src = res.get(d.source)!;
      const r = applySteps(d.steps, src.min, src.max);
      res.set(name, { min: r.min, max: r.max, size: src.size * d.sizeFactor, finite: src.finite && r.finite });
    }
    return res;
  }

  /** the row views' sizes of the statically sized tensors at these feeds' dims (cached: a pass feeds few different dims) */
  private rowSizesAt(dims: ReadonlyMap<string, readonly number[]>, known?: ReadonlyMap<string, Shape>): Map<string, RowSizes> {
    const key = [...dims].map(([name, d]) => `${name}:${d.join(',')}`).sort().join(';');
    let sizes = this.sizesByDims.get(key);
    if (!sizes) {
      const shapes = known ?? inferShapes(this.needed, dims, this.opset);
      sizes = new Map();
      for (const [name, view] of this.sizedStatically) {
        const s = shapes.get(name);
        if (!s) throw new Error(`no inferred shape for ${name} at the feed dims ${key}`);
        const viewed = view.unsqueezed ? [...s, 1] : s;
        sizes.set(name, { rows: prod(viewed.slice(0, view.axis)), rest: prod(viewed.slice(view.axis)), samples: viewed[0]! });
      }
      this.sizesByDims.set(key, sizes);
    }
    return sizes;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

// The per-row results are folded by small functions of their own: V8 optimises them after a few calls, where a
// loop inside run() (called once per batch) stayed in the interpreter for most of a short pass (ppocr_cls: ~30 of
// its ~60 ms of JavaScript per pass).

/** Ops whose output is a view of their input, whose outputs are not handed back whole (see ReducingSession.create). */
const VIEW_OPS = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity']);

/** Values per run up to which a tensor at known dims is handed back whole rather than reduced (ReducingSession.create). */
export const RAW_VALUES_PER_RUN = 4096;

/** Rows per thread from which a tensor of rank >= 3 is reduced one row per sample instead of per sample and channel. */
const MIN_SAMPLE_ROWS_PER_THREAD = 2;

/** A constant's range: its size, and finite only where every value is (else it is fetched and counted like any tensor). */
function rangeOfValues(v: Float32Array): Reduced {
  // One pass without branches (weights are random to a branch predictor), two lanes to halve the dependency
  // chains: ppocr_rec's 2.7M values held in Constant nodes ~2x faster once optimised. NaN is skipped by the
  // comparisons and shows in the sums of x * 0 (as does ±Inf, which the min or max shows anyway).
  let [min0, min1, max0, max1, bad0, bad1] = [Infinity, Infinity, -Infinity, -Infinity, 0, 0];
  const even = v.length - (v.length & 1);
  for (let i = 0; i < even; i += 2) {
    const a = v[i]!;
    const b = v[i + 1]!;
    min0 = a < min0 ? a : min0;
    max0 = a > max0 ? a : max0;
    min1 = b < min1 ? b : min1;
    max1 = b > max1 ? b : max1;
    bad0 += a * 0;
    bad1 += b * 0;
  }
  if (even < v.length) {
    const a = v[even]!;
    min0 = a < min0 ? a : min0;
    max0 = a > max0 ? a : max0;
    bad0 += a * 0;
  }
  const [min, max] = [Math.min(min0, min1), Math.max(max0, max1)];
  return { min, max, size: v.length, finite: bad0 + bad1 === 0 && Number.isFinite(min) && Number.isFinite(max) };
}

/** The least of v[from, from + n), NaN where one is NaN. */
function smallest(v: Float32Array, from: number, n: number): number {
  let m = Infinity;
  for (let i = from; i < from + n; i++) {
    const a = v[i]!;
    if (a < m || a !== a) m = a;
  }
  return m;
}

/** The greatest of v[from, from + n), NaN where one is NaN. */
function largest(v: Float32Array, from: number, n: number): number {
  let m = -Infinity;
  for (let i = from; i < from + n; i++) {
    const a = v[i]!;
    if (a > m || a !== a) m = a;
  }
  return m;
}

function holdsNaN(v: Float32Array, from: number, n: number): boolean {
  for (let i = from; i < from + n; i++) if (v[i] !== v[i]) return true;
  return false;
}

/** A reduced tensor's rows and values per row in one run, and its dim 0 (samples, for scaled ranges). */
interface RowSizes {
  rows: number;
  rest: number;
  samples: number;
}

/** How a reduced tensor is viewed as rows: a scalar is first made [1]; Flatten at `axis`. */
interface RowView {
  unsqueezed: boolean;
  axis: number;
}
