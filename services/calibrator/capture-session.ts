/**
 * An onnxruntime-node session whose graph outputs include the tensors to capture (as the reference
 * and onnxruntime's calibrators do: the tensors become extra graph outputs).
 */
import ort from 'onnxruntime-node';
import type { ModelProto, ValueInfoProto } from '../core/onnx/index.js';
import { encodeModel, halfToFloat, onnx } from '../core/onnx/index.js';
import { InvalidArgument } from '../core/errors.js';
import type { Feed } from './calibration-data.js';

export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

export interface CaptureSessionOptions {
  /** onnxruntime graph optimisation level. Default 'basic' (measured fastest that keeps values equal; see docs). */
  graphOptimizationLevel?: GraphOptimizationLevel;
  intraOpNumThreads?: number;
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

export class CaptureSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly tensors: readonly string[],
    private readonly inputNames: Set<string>,
  ) {}

  static async create(model: ModelProto, tensors: readonly string[], opts: CaptureSessionOptions = {}): Promise<CaptureSession> {
    checkCapturable(model, tensors);
    const g = model.graph!;
    const present = new Set(g.output.map((o) => o.name));
    const added: ValueInfoProto[] = [];
    for (const t of tensors) {
      if (present.has(t)) continue;
      present.add(t);
      // No type: onnxruntime infers it. (The graph's value_info, when present, is kept as is.)
      added.push(onnx.ValueInfoProto.create({ name: t }) as unknown as ValueInfoProto);
    }
    const augmented: ModelProto = { ...model, graph: { ...g, output: [...g.output, ...added] } } as ModelProto;
    const bytes = encodeModel(augmented);
    const so: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: opts.graphOptimizationLevel ?? 'basic',
      executionProviders: ['cpu'],
      logSeverityLevel: 3,
    };
    if (opts.intraOpNumThreads) so.intraOpNumThreads = opts.intraOpNumThreads;
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, so);
    } catch (e) {
      throw new InvalidArgument(`onnxruntime could not load the model: ${(e as Error).message}`, { cause: e });
    }
    return new CaptureSession(session, [...tensors], new Set(session.inputNames));
  }

  /** Runs one feed and returns the requested tensors as float32 (float16 is widened). */
  async run(feeds: Feed[], fetch: readonly string[] = this.tensors): Promise<Map<string, Captured>> {
    const inputs: Record<string, ort.Tensor> = {};
    for (const f of feeds) inputs[f.name] = new ort.Tensor(f.dtype, f.data as never, f.dims);
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await this.session.run(inputs, fetch.length ? [...fetch] : [...this.session.outputNames]);
    } catch (e) {
      throw new InvalidArgument(`onnxruntime failed on the calibration data: ${(e as Error).message}`, { cause: e });
    }
    const res = new Map<string, Captured>();
    for (const name of fetch) {
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

/** Per-tensor reductions computed inside the graph for one batch. */
export interface Reduced {
  min: number;
  max: number;
  /** elements of the tensor in this batch. */
  size: number;
  /** false when the batch holds NaN or ±Inf (sum of x - x is not 0): fetch the tensor itself then. */
  finite: boolean;
  /** min |x| (only when asked for). */
  absMin?: number;
}

/**
 * A session that reduces each requested tensor inside the graph (ReduceMin, ReduceMax, Size, and
 * ReduceSum(x - x) as a NaN/Inf check; ReduceMin(Abs(x)) on request), so that a min/max pass copies
 * a few scalars per tensor out of onnxruntime instead of whole activations (what onnxruntime's own
 * MinMax calibrator does with ReduceMin/ReduceMax nodes).
 */
export class ReducingSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly tensors: readonly string[],
    private readonly names: Map<string, { min: string; max: string; size: string; check: string; absMin?: string }>,
  ) {}

  static async create(model: ModelProto, tensors: readonly string[], opts: CaptureSessionOptions & { absMin?: boolean } = {}): Promise<ReducingSession> {
    checkCapturable(model, tensors);
    const g = model.graph!;
    const nodes = [...g.node];
    const outputs: ValueInfoProto[] = [...g.output];
    const names = new Map<string, { min: string; max: string; size: string; check: string; absMin?: string }>();
    const mk = (opType: string, input: string[], output: string, attrs: { name: string; i: number }[] = []) =>
      onnx.NodeProto.create({
        opType,
        input,
        output: [output],
        name: `${output}__node`,
        attribute: attrs.map((a) => onnx.AttributeProto.create({ name: a.name, i: a.i, type: onnx.AttributeProto.AttributeType.INT })) as never,
      }) as unknown as (typeof nodes)[number];
    tensors.forEach((t, k) => {
      const p = `__modelopt_calib_${k}`;
      const n = { min: `${p}_min`, max: `${p}_max`, size: `${p}_size`, check: `${p}_check`, absMin: opts.absMin ? `${p}_absmin` : undefined };
      nodes.push(mk('ReduceMin', [t], n.min, [{ name: 'keepdims', i: 0 }]));
      nodes.push(mk('ReduceMax', [t], n.max, [{ name: 'keepdims', i: 0 }]));
      nodes.push(mk('Size', [t], n.size));
      nodes.push(mk('Sub', [t, t], `${p}_sub`));
      nodes.push(mk('ReduceSum', [`${p}_sub`], n.check, [{ name: 'keepdims', i: 0 }]));
      if (n.absMin) {
        nodes.push(mk('Abs', [t], `${p}_abs`));
        nodes.push(mk('ReduceMin', [`${p}_abs`], n.absMin, [{ name: 'keepdims', i: 0 }]));
      }
      for (const o of [n.min, n.max, n.size, n.check, n.absMin]) if (o) outputs.push(onnx.ValueInfoProto.create({ name: o }) as unknown as ValueInfoProto);
      names.set(t, n);
    });
    const augmented: ModelProto = { ...model, graph: { ...g, node: nodes, output: outputs } } as ModelProto;
    const so: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: opts.graphOptimizationLevel ?? 'basic',
      executionProviders: ['cpu'],
      logSeverityLevel: 3,
    };
    if (opts.intraOpNumThreads) so.intraOpNumThreads = opts.intraOpNumThreads;
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(encodeModel(augmented), so);
    } catch (e) {
      throw new InvalidArgument(`onnxruntime could not load the model with min/max reductions: ${(e as Error).message}`, { cause: e });
    }
    return new ReducingSession(session, [...tensors], names);
  }

  async run(feeds: Feed[]): Promise<Map<string, Reduced>> {
    const inputs: Record<string, ort.Tensor> = {};
    for (const f of feeds) inputs[f.name] = new ort.Tensor(f.dtype, f.data as never, f.dims);
    const fetch: string[] = [];
    for (const n of this.names.values()) fetch.push(n.min, n.max, n.size, n.check, ...(n.absMin ? [n.absMin] : []));
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await this.session.run(inputs, fetch);
    } catch (e) {
      throw new InvalidArgument(`onnxruntime failed on the calibration data: ${(e as Error).message}`, { cause: e });
    }
    const scalar = (name: string, tensor: string): number => {
      const t = out[name] as ort.Tensor;
      if (t.type === 'float32') return (t.data as Float32Array)[0];
      if (t.type === 'float16') return halfToFloat((t.data as Uint16Array)[0]);
      if (t.type === 'int64') return Number((t.data as BigInt64Array)[0]);
      throw new InvalidArgument(`tensor ${tensor} has dtype ${t.type}; only float32/float16 activations can be calibrated`);
    };
    const res = new Map<string, Reduced>();
    for (const [t, n] of this.names) {
      const size = scalar(n.size, t);
      const checkT = out[n.check] as ort.Tensor;
      if (checkT.type !== 'float32' && checkT.type !== 'float16') throw new InvalidArgument(`tensor ${t} has dtype ${checkT.type}; only float32/float16 activations can be calibrated`);
      const r: Reduced = { min: scalar(n.min, t), max: scalar(n.max, t), size, finite: scalar(n.check, t) === 0 };
      if (n.absMin) r.absMin = scalar(n.absMin, t);
      res.set(t, r);
    }
    return res;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
