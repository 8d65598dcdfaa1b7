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
