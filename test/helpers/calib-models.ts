/** Tiny models for calibrator tests (dynamic batch dims). */
import { DataType, makeFloatTensor, makeNode, onnx, type ModelProto, type ValueInfoProto } from '../../services/core/onnx/index.js';
import { buildModel } from './tiny-models.js';
import { CaptureSession, type GraphOptimizationLevel } from '../../services/calibrator/capture-session.js';
import type { Feed } from '../../services/calibrator/calibration-data.js';

/** value info with `null` for a dynamic (dim_param) dimension. */
export function dvi(name: string, dims: (number | null)[], elemType: number = DataType.FLOAT): ValueInfoProto {
  const v = onnx.ValueInfoProto.fromObject({
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d, i) => (d === null ? { dimParam: `d${i}` } : { dimValue: d })) } } },
  });
  return onnx.ValueInfoProto.decode(onnx.ValueInfoProto.encode(v).finish()) as unknown as ValueInfoProto;
}

/**
 * Two inputs, named so that graph order differs from alphabetical order:
 *   b [?, 2] float → lb = Log(b)        (Log of 0 is -Inf, of a negative number NaN)
 *   a [?, 3] float → ra = Relu(a), ma = Mul(ra, ra)
 *   n [?]    int64 (unused by the floats; checks integer feeds)
 */
export function twoInputModel(): ModelProto {
  return buildModel({
    nodes: [
      makeNode('Log', ['b'], ['lb'], 'log_b'),
      makeNode('Relu', ['a'], ['ra'], 'relu_a'),
      makeNode('Mul', ['ra', 'ra'], ['ma'], 'mul_a'),
      makeNode('Cast', ['n'], ['nf'], 'cast_n', { to: DataType.FLOAT }),
    ],
    inputs: [dvi('b', [null, 2]), dvi('a', [null, 3]), dvi('n', [null], DataType.INT64)],
    outputs: [dvi('lb', [null, 2]), dvi('ma', [null, 3]), dvi('nf', [null])],
  });
}

/** x [?, 4] → y = MatMul(x, W[4,2]) → z = Relu(y); for capture tests. */
export function matmulModel(): ModelProto {
  const w = onnx.TensorProto.create({ name: 'W', dims: [4, 2], dataType: DataType.FLOAT, floatData: [1, 0, 0, 1, 1, 1, -1, 2] });
  return buildModel({
    nodes: [makeNode('MatMul', ['x', 'W'], ['y'], 'mm'), makeNode('Relu', ['y'], ['z'], 'relu')],
    inputs: [dvi('x', [null, null, 4])],
    outputs: [dvi('z', [null, null, 2])],
    initializers: [w as never],
  });
}

/** `matmulModel` plus an unused input `a` [?] that sorts first (drives the step count). */
export function matmulModelWithDriver(): ModelProto {
  const m = matmulModel();
  const g = m.graph!;
  g.input = [...g.input, dvi('a', [null])];
  return m;
}

/**
 * What the min/max pass must report for each tensor, from the tensors themselves (fetched whole through a
 * CaptureSession at `level`): [min, max] over the finite values ([0, 0] where none is), element count, NaN
 * count, ±Inf count.
 */
export async function exactStatistics(model: ModelProto, tensors: string[], runs: Feed[][], level: GraphOptimizationLevel = 'basic'): Promise<Map<string, number[]>> {
  const capture = await CaptureSession.create(model, tensors, { graphOptimizationLevel: level });
  const out = new Map<string, number[]>(tensors.map((t) => [t, [Infinity, -Infinity, 0, 0, 0]]));
  for (const feeds of runs) {
    const got = await capture.run(feeds, tensors);
    for (const t of tensors) {
      const s = out.get(t)!;
      for (const u of got.get(t)!.data) {
        s[2]! += 1;
        if (Number.isNaN(u)) s[3]! += 1;
        else if (!Number.isFinite(u)) s[4]! += 1;
        else {
          if (u < s[0]!) s[0] = u;
          if (u > s[1]!) s[1] = u;
        }
      }
    }
  }
  await capture.release();
  for (const s of out.values()) if (s[0] === Infinity) [s[0], s[1]] = [0, 0];
  return out;
}

/** `model` with `t` replaced by t + mask, the mask NaN at element `at` and 0 elsewhere. */
export function withNaNAt(model: ModelProto, t: string, dims: number[], at: number): ModelProto {
  const g = model.graph!;
  const mask = new Float32Array(dims.reduce((a, b) => a * b, 1));
  mask[at] = NaN;
  const nodes = g.node.flatMap((n) => {
    if (!n.output.includes(t)) return [n];
    const renamed = { ...n, output: n.output.map((o) => (o === t ? `${t}__clean` : o)) };
    return [renamed, makeNode('Add', [`${t}__clean`, `${t}__nan`], [t], `${t}__inject`)];
  });
  return { ...model, graph: { ...g, node: nodes, initializer: [...g.initializer, makeFloatTensor(`${t}__nan`, dims, mask)] } } as ModelProto;
}

/**
 * x [?, n, n] and five elementwise tensors of its size (a..e); with `unknownShapes`, they follow a CumSum (cx),
 * whose output shape tensor-shapes.ts does not infer. The min/max pass's grouping tests use it.
 */
export function fiveTensorModel(n: number, unknownShapes = false): ModelProto {
  const src = unknownShapes ? 'cx' : 'x';
  return buildModel({
    nodes: [
      ...(unknownShapes ? [makeNode('CumSum', ['x', 'axis'], ['cx'], 'cumsum')] : []),
      makeNode('Relu', [src], ['a'], 'a'),
      makeNode('Neg', [src], ['b'], 'b'),
      makeNode('Abs', [src], ['c'], 'c'),
      makeNode('Sigmoid', [src], ['d'], 'd'),
      makeNode('Tanh', [src], ['e'], 'e'),
    ],
    inputs: [dvi('x', [null, n, n])],
    outputs: ['a', 'b', 'c', 'd', 'e'].map((o) => dvi(o, [null, n, n])),
    initializers: [onnx.TensorProto.create({ name: 'axis', dims: [], dataType: DataType.INT64, int64Data: [0] }) as never],
  });
}

/** x [?, 4] reshaped to [1, 4] inside (rx), then r = Relu(rx): a run of more than one sample fails. */
export function batchFixedInsideModel(): ModelProto {
  const shape = onnx.TensorProto.create({ name: 'shape', dims: [2], dataType: DataType.INT64, int64Data: [1, 4] });
  return buildModel({
    nodes: [makeNode('Reshape', ['x', 'shape'], ['rx'], 'reshape'), makeNode('Relu', ['rx'], ['r'], 'relu')],
    inputs: [dvi('x', [null, 4])],
    outputs: [dvi('r', [1, 4])],
    initializers: [shape as never],
  });
}
