/** Small hand-built models for the analyzer's unit tests and benches. */
import { onnx, type ModelProto, type GraphProto, type NodeProto, type TensorProto, type ValueInfoProto, type AttributeProto } from '../core/onnx/index.js';

export interface NodeSpec {
  op: string;
  in: string[];
  out: string[];
  name?: string;
  attrs?: Record<string, number | number[] | string>;
  domain?: string;
}

export function floatInit(name: string, dims: number[]): TensorProto {
  const n = dims.reduce((a, b) => a * b, 1);
  return onnx.TensorProto.create({ name, dims, dataType: 1, rawData: new Uint8Array(n * 4) }) as unknown as TensorProto;
}

export function int64Init(name: string, values: number[]): TensorProto {
  const b = new BigInt64Array(values.map((v) => BigInt(v)));
  return onnx.TensorProto.create({ name, dims: [values.length], dataType: 7, rawData: new Uint8Array(b.buffer) }) as unknown as TensorProto;
}

function attr(name: string, v: number | number[] | string): AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return onnx.AttributeProto.create({ name, s: Buffer.from(v), type: T.STRING }) as unknown as AttributeProto;
  if (Array.isArray(v)) return onnx.AttributeProto.create({ name, ints: v, type: T.INTS }) as unknown as AttributeProto;
  return (Number.isInteger(v) ? onnx.AttributeProto.create({ name, i: v, type: T.INT }) : onnx.AttributeProto.create({ name, f: v, type: T.FLOAT })) as unknown as AttributeProto;
}

export function valueInfo(name: string, dims: number[] = [1, 16, 8, 8], elemType = 1): ValueInfoProto {
  return onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } }) as unknown as ValueInfoProto;
}

export function buildModel(opts: { nodes: NodeSpec[]; inits?: TensorProto[]; inputs?: (string | ValueInfoProto)[]; outputs?: string[]; opset?: number; extraOpsets?: { domain: string; version: number }[] }): ModelProto {
  const node = opts.nodes.map(
    (s) =>
      onnx.NodeProto.create({
        opType: s.op,
        input: s.in,
        output: s.out,
        name: s.name ?? '',
        domain: s.domain ?? '',
        attribute: Object.entries(s.attrs ?? {}).map(([k, v]) => attr(k, v)) as never,
      }) as unknown as NodeProto,
  );
  const graph = onnx.GraphProto.create({
    name: 'g',
    node: node as never,
    initializer: (opts.inits ?? []) as never,
    input: (opts.inputs ?? ['x']).map((i) => (typeof i === 'string' ? valueInfo(i) : i)) as never,
    output: (opts.outputs ?? []).map((o) => valueInfo(o)) as never,
  }) as unknown as GraphProto;
  return onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: opts.opset ?? 13 }, ...(opts.extraOpsets ?? [])],
    graph: graph as never,
  }) as unknown as ModelProto;
}

/** x → Relu → Conv → BN → Relu → Conv → BN → Add(shortcut) → Relu → pool → flatten → Gemm → y : one residual block. */
export function residualBlock(channels = 16): ModelProto {
  const bn = (p: string): TensorProto[] => ['s', 'b', 'm', 'v'].map((k) => floatInit(`${p}_${k}`, [channels]));
  return buildModel({
    nodes: [
      { op: 'Relu', in: ['x'], out: ['r0'], name: 'stem' },
      { op: 'Conv', in: ['r0', 'w1'], out: ['c1'], name: 'conv1' },
      { op: 'BatchNormalization', in: ['c1', 'bn1_s', 'bn1_b', 'bn1_m', 'bn1_v'], out: ['b1'], name: 'bn1' },
      { op: 'Relu', in: ['b1'], out: ['r1'], name: 'relu1' },
      { op: 'Conv', in: ['r1', 'w2'], out: ['c2'], name: 'conv2' },
      { op: 'BatchNormalization', in: ['c2', 'bn2_s', 'bn2_b', 'bn2_m', 'bn2_v'], out: ['b2'], name: 'bn2' },
      { op: 'Add', in: ['b2', 'r0'], out: ['a'], name: 'add' },
      { op: 'Relu', in: ['a'], out: ['r2'], name: 'relu2' },
      { op: 'GlobalAveragePool', in: ['r2'], out: ['p'], name: 'pool' },
      { op: 'Flatten', in: ['p'], out: ['f'], name: 'flatten' },
      { op: 'Gemm', in: ['f', 'fc_w', 'fc_b'], out: ['y'], name: 'fc', attrs: { transB: 1 } },
    ],
    inits: [floatInit('w1', [channels, channels, 3, 3]), floatInit('w2', [channels, channels, 3, 3]), ...bn('bn1'), ...bn('bn2'), floatInit('fc_w', [10, channels]), floatInit('fc_b', [10])],
    inputs: [valueInfo('x', [1, channels, 8, 8])],
    outputs: ['y'],
  });
}
