/**
 * Random model inputs the way the reference profiles: uniform on [0,1) for the session's dtypes
 * and shapes. Dynamic dimensions become 1 (or the caller's shape); integer inputs truncate to 0
 * as numpy's astype does; booleans are false.
 */
import ort from 'onnxruntime-node';
import { InvalidArgument } from '../core/errors.js';
import { floatToHalf } from '../core/onnx/index.js';
import { mulberry32 } from '../core/random.js';

export interface InputSpec {
  name: string;
  dtype: string;
  shape: number[];
}

/** Input specs from the session metadata; `shapes` overrides (dynamic dims otherwise → 1). */
export function inputSpecs(session: ort.InferenceSession, shapes: Readonly<Record<string, number[]>> = {}): InputSpec[] {
  return session.inputMetadata.map((md) => {
    if (!md.isTensor) throw new InvalidArgument(`profile: input "${md.name}" is not a tensor; cannot generate it`);
    const given = shapes[md.name];
    const shape = given ?? md.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    return { name: md.name, dtype: md.type, shape: [...shape] };
  });
}

export function randomTensor(spec: InputSpec, rng: () => number): ort.Tensor {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  switch (spec.dtype) {
    case 'float32': {
      const d = new Float32Array(n);
      for (let i = 0; i < n; i++) d[i] = rng();
      return new ort.Tensor('float32', d, spec.shape);
    }
    case 'float64': {
      const d = new Float64Array(n);
      for (let i = 0; i < n; i++) d[i] = rng();
      return new ort.Tensor('float64', d, spec.shape);
    }
    case 'float16': {
      const d = new Uint16Array(n);
      for (let i = 0; i < n; i++) d[i] = floatToHalf(rng());
      return new ort.Tensor('float16', d, spec.shape);
    }
    case 'int8': return new ort.Tensor('int8', new Int8Array(n), spec.shape);
    case 'uint8': return new ort.Tensor('uint8', new Uint8Array(n), spec.shape);
    case 'int16': return new ort.Tensor('int16', new Int16Array(n), spec.shape);
    case 'uint16': return new ort.Tensor('uint16', new Uint16Array(n), spec.shape);
    case 'int32': return new ort.Tensor('int32', new Int32Array(n), spec.shape);
    case 'uint32': return new ort.Tensor('uint32', new Uint32Array(n), spec.shape);
    case 'int64': return new ort.Tensor('int64', new BigInt64Array(n), spec.shape);
    case 'uint64': return new ort.Tensor('uint64', new BigUint64Array(n), spec.shape);
    case 'bool': return new ort.Tensor('bool', new Uint8Array(n), spec.shape);
    default:
      throw new InvalidArgument(`profile: input "${spec.name}" has dtype ${spec.dtype}, which cannot be generated`);
  }
}

export function randomFeeds(specs: readonly InputSpec[], seed = 0): Record<string, ort.Tensor> {
  const rng = mulberry32(seed);
  return Object.fromEntries(specs.map((s) => [s.name, randomTensor(s, rng)]));
}
