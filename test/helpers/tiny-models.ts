/** Small hand-built ONNX models for unit tests. */
import { DataType, makeFloatTensor, makeNode, onnx, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from '../../services/core/onnx/index.js';

export function vi(name: string, dims: number[], elemType: number = DataType.FLOAT): ValueInfoProto {
  // Round-trip through the wire format so that every nested message has its defaults.
  const v = onnx.ValueInfoProto.fromObject({ name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
  return onnx.ValueInfoProto.decode(onnx.ValueInfoProto.encode(v).finish()) as unknown as ValueInfoProto;
}

export function buildModel(opts: { nodes: NodeProto[]; inputs: ValueInfoProto[]; outputs: ValueInfoProto[]; initializers?: TensorProto[]; opset?: number; ir?: number }): ModelProto {
  const m = onnx.ModelProto.create({
    irVersion: opts.ir ?? 8,
    opsetImport: [{ domain: '', version: opts.opset ?? 13 }],
    producerName: 'test',
    graph: onnx.GraphProto.create({ name: 'g', node: opts.nodes as never, input: opts.inputs as never, output: opts.outputs as never, initializer: (opts.initializers ?? []) as never }),
  });
  return onnx.ModelProto.decode(onnx.ModelProto.encode(m).finish()) as unknown as ModelProto;
}

/** Deterministic pseudo-random floats in [-1, 1). */
export function rand(n: number, seed = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

export function weight(name: string, dims: number[], seed = 1): TensorProto {
  return makeFloatTensor(name, dims, rand(dims.reduce((a, b) => a * b, 1), seed));
}

export { makeNode };
