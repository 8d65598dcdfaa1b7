import { test } from 'node:test';
import assert from 'node:assert/strict';
import { captureActivations } from './capture-activations.js';
import { InvalidArgument } from '../core/errors.js';
import { loadModel } from '../core/onnx/index.js';
import { matmulModel, matmulModelWithDriver } from '../../test/helpers/calib-models.js';
import { dataPath, modelPath } from '../../test/helpers/shared.js';

/** concatenate, reshape to [-1, Cin], keep row i·s + (i mod s) of each window of s = max(1, T // maxTokens) rows */
function expectedRows(x: Float32Array, cin: number, maxTokens: number): number[][] {
  const t = x.length / cin;
  const s = Math.max(1, Math.floor(t / maxTokens));
  const out: number[][] = [];
  for (let i = 0; i * s < t; i++) {
    const r = i * s + (i % s);
    if (r < t) out.push(Array.from(x.slice(r * cin, (r + 1) * cin)));
  }
  return out;
}

function rowsOf(data: Float32Array, cin: number): number[][] {
  return Array.from({ length: data.length / cin }, (_, r) => Array.from(data.slice(r * cin, (r + 1) * cin)));
}

test('keeps one row per window of floor(tokens/maxTokens) rows of the [tokens, Cin] activation (diagonal), streamed over steps', async () => {
  const x = Float32Array.from({ length: 6 * 5 * 4 }, (_, i) => i);
  const data = { kind: 'arrays' as const, arrays: { x: { dtype: 'float32' as const, shape: [6, 5, 4], data: x } } };
  for (const maxTokens of [4, 7, 64]) {
    const [c] = await captureActivations(matmulModel(), { tensors: ['x'], data, maxTokens });
    const want = expectedRows(x, 4, maxTokens);
    assert.deepEqual(c.shape, [want.length, 4], `maxTokens ${maxTokens}`);
    assert.deepEqual(rowsOf(c.data, 4), want);
  }
});

test('when tokens do not scale with the batch rows, a counting pass makes the selection exact', async () => {
  const x = Float32Array.from({ length: 7 * 5 * 4 }, (_, i) => i * 0.5);
  const data = {
    kind: 'arrays' as const,
    arrays: {
      a: { dtype: 'float32' as const, shape: [3], data: new Float32Array(3) },
      x: { dtype: 'float32' as const, shape: [7, 5, 4], data: x },
    },
  };
  const passes = new Set<string>();
  const [c] = await captureActivations(matmulModelWithDriver(), { tensors: ['x'], data, maxTokens: 4, onProgress: (p) => passes.add(p.pass) });
  assert.ok(passes.has('count'), 'the prediction (15 tokens/step x 3) is wrong, so a counting pass runs');
  assert.deepEqual(rowsOf(c.data, 4), expectedRows(x, 4, 4));
});

test('gpt2_small: 32 samples x 128 tokens keep 64 rows per MatMul activation', async () => {
  const model = loadModel(modelPath('gpt2_small'));
  const t = '/m/transformer/h.0/mlp/c_proj/Reshape_output_0';
  const [c] = await captureActivations(model, { tensors: [t], data: { kind: 'file', path: dataPath('gpt2_small', 'calib') } });
  assert.equal(c.tensor, t);
  assert.deepEqual(c.shape, [64, 1024]);
  assert.ok(c.data.some((v) => v !== 0) && c.data.every((v) => Number.isFinite(v)));
});

test('rejects tensors that are not MatMul/Gemm activation inputs, unknown names and bad maxTokens', async () => {
  const data = { kind: 'arrays' as const, arrays: { x: { dtype: 'float32' as const, shape: [2, 5, 4], data: new Float32Array(40) } } };
  await assert.rejects(captureActivations(matmulModel(), { tensors: ['y'], data }), (e: Error) => e instanceof InvalidArgument && /not the activation input/.test(e.message));
  await assert.rejects(captureActivations(matmulModel(), { tensors: ['zz'], data }), /not in the graph/);
  await assert.rejects(captureActivations(matmulModel(), { tensors: ['x'], data, maxTokens: 0 }), /maxTokens/);
  await assert.rejects(captureActivations(matmulModel(), { tensors: [], data }), /no activations/);
});
