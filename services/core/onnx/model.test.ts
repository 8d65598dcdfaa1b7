import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { spawnSync } from 'node:child_process';
import { loadModel, saveModel, decodeModel, encodeModel } from './model.js';
import { Graph } from './graph.js';
import { DataType } from './dtype.js';
import { tensorToFloat32 } from './tensor.js';
import { InvalidArgument, NotFound } from '../errors.js';
import { sharedModels, tmpDir, REPO_ROOT } from '../../../test/helpers/shared.js';

function randomFeeds(session: ort.InferenceSession, model: ReturnType<typeof loadModel>): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  const inits = new Set(model.graph!.initializer.map((t) => t.name));
  let seed = 1;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (const vi of model.graph!.input) {
    if (inits.has(vi.name)) continue;
    const tt = vi.type!.tensorType!;
    let dims = (tt.shape?.dim ?? []).map((d) => (d.dimValue && Number(d.dimValue) > 0 ? Number(d.dimValue) : 1));
    if (vi.name === 'input' && dims.length === 2 && dims[1] === 1) dims = [1, 576]; // silero: chunk of 576 samples
    const n = dims.reduce((a, b) => a * b, 1);
    switch (tt.elemType) {
      case DataType.FLOAT:
        feeds[vi.name] = new ort.Tensor('float32', Float32Array.from({ length: n }, rnd), dims);
        break;
      case DataType.INT64:
        feeds[vi.name] = new ort.Tensor('int64', BigInt64Array.from({ length: n }, () => (vi.name === 'sr' ? 16000n : BigInt(Math.floor(rnd() * 100)))), dims);
        break;
      default:
        throw new Error(`test feed for dtype ${tt.elemType}`);
    }
  }
  return feeds;
}

for (const file of sharedModels()) {
  test(`round trip is lossless and runs identically: ${path.basename(file)}`, async () => {
    const dir = tmpDir('roundtrip');
    try {
      const model = loadModel(file);
      const out = path.join(dir, 'copy.onnx');
      saveModel(model, out);
      const again = decodeModel(fs.readFileSync(out));
      assert.deepEqual(encodeModel(again), encodeModel(model), 'second encode differs');
      const a = await ort.InferenceSession.create(file);
      const b = await ort.InferenceSession.create(out);
      const feeds = randomFeeds(a, model);
      const ra = await a.run(feeds);
      const rb = await b.run(feeds);
      for (const name of a.outputNames) {
        assert.deepEqual(Array.from(rb[name]!.data as Float32Array), Array.from(ra[name]!.data as Float32Array), `output ${name}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('fields newer than the schema survive: node metadata_props, float8 and int4 tensors, model functions', () => {
  const file = path.join(REPO_ROOT, 'test/fixtures/unknown_fields.onnx');
  const original = fs.readFileSync(file);
  const model = decodeModel(original);
  const node = model.graph!.node[0]!;
  assert.ok(node.$unknown && node.$unknown.length === 1, 'node metadata_props kept as an unknown field');
  assert.ok(Buffer.from(node.$unknown[0]!).includes(Buffer.from('unknown-field-test')));
  const f8 = model.graph!.initializer.find((t) => t.name === 'w_f8')!;
  const i4 = model.graph!.initializer.find((t) => t.name === 'w_i4')!;
  assert.equal(f8.dataType, DataType.FLOAT8E4M3FN);
  assert.equal(i4.dataType, DataType.INT4);
  const dir = tmpDir('unknown');
  try {
    const out = path.join(dir, 'saved.onnx');
    saveModel(model, out);
    const again = decodeModel(fs.readFileSync(out));
    assert.deepEqual(again.graph!.node[0]!.$unknown, node.$unknown);
    assert.deepEqual(again.$unknown, model.$unknown);
    assert.deepEqual(Buffer.from(again.graph!.initializer.find((t) => t.name === 'w_i4')!.rawData), Buffer.from(i4.rawData));
    // The onnx package itself (a newer schema) reads back every field from our file.
    const check = spawnSync('python3', ['-c', `
import onnx, sys
a = onnx.load(sys.argv[1]); b = onnx.load(sys.argv[2])
assert a == b, "models differ"
assert b.graph.node[0].metadata_props[0].value == "unknown-field-test"
print("same")`, file, out], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stdout, /same/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('external data round trip: every tensor moves to <name>_data and back', async () => {
  const dir = tmpDir('extdata');
  try {
    const src = sharedModels().find((f) => f.endsWith('mnist8.onnx'))!;
    const model = loadModel(src);
    const out = path.join(dir, 'm.onnx');
    const res = saveModel(model, out, { externalData: true });
    assert.equal(res.external, true);
    assert.ok(fs.existsSync(path.join(dir, 'm.onnx_data')));
    const inline = fs.statSync(out).size;
    assert.ok(inline < 8192, `model file should be small without weights, got ${inline}`);
    const back = loadModel(out);
    const g1 = new Graph(model.graph!);
    for (const t of back.graph!.initializer) {
      assert.deepEqual(Array.from(tensorToFloat32(t)), Array.from(tensorToFloat32(g1.initializers.get(t.name)!)), t.name);
    }
    const s1 = await ort.InferenceSession.create(src);
    const s2 = await ort.InferenceSession.create(out);
    const feeds = { Input3: new ort.Tensor('float32', new Float32Array(784).fill(0.5), [1, 1, 28, 28]) };
    assert.deepEqual(Array.from((await s2.run(feeds))[s2.outputNames[0]!]!.data as Float32Array), Array.from((await s1.run(feeds))[s1.outputNames[0]!]!.data as Float32Array));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('bad input: missing, empty, truncated and non-ONNX files give clear errors', () => {
  const dir = tmpDir('badonnx');
  try {
    assert.throws(() => loadModel(path.join(dir, 'nope.onnx')), NotFound);
    fs.writeFileSync(path.join(dir, 'empty.onnx'), '');
    assert.throws(() => loadModel(path.join(dir, 'empty.onnx')), (e: unknown) => e instanceof InvalidArgument && /empty/.test((e as Error).message));
    const good = fs.readFileSync(sharedModels().find((f) => f.endsWith('mnist8.onnx'))!);
    fs.writeFileSync(path.join(dir, 'trunc.onnx'), good.subarray(0, Math.floor(good.length / 2)));
    assert.throws(() => loadModel(path.join(dir, 'trunc.onnx')), InvalidArgument);
    fs.writeFileSync(path.join(dir, 'text.onnx'), 'this is not a model at all, just some text\n'.repeat(10));
    assert.throws(() => loadModel(path.join(dir, 'text.onnx')), InvalidArgument);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed save leaves no file behind', () => {
  const dir = tmpDir('atomic');
  try {
    const model = loadModel(sharedModels().find((f) => f.endsWith('mnist8.onnx'))!);
    const target = path.join(dir, 'no-such-dir', 'out.onnx');
    assert.throws(() => saveModel(model, target));
    assert.deepEqual(fs.readdirSync(dir), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
