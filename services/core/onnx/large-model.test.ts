/**
 * A model over 2 GiB cannot be one protobuf: saving with the default ('auto') must move the weights
 * to `<name>_data` by itself, and loading must bring them back byte for byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { onnx, type ModelProto } from './proto.js';
import { saveModel, loadModel, TWO_GIB } from './model.js';
import { makeNode } from './graph.js';
import { makeTensor } from './tensor.js';
import { DataType } from './dtype.js';
import { tmpDir } from '../../../test/helpers/shared.js';

test('a 2.25 GiB model is saved with external data automatically and loads back identically', { timeout: 10 * 60_000 }, () => {
  const dir = tmpDir('large-model');
  try {
    const chunk = 256 * 1024 * 1024; // 9 × 256 MiB = 2.25 GiB of float32 weights
    const inits = Array.from({ length: 9 }, (_, i) => makeTensor(`w${i}`, DataType.FLOAT, [chunk / 4], Buffer.alloc(chunk, i + 1)));
    const nodes = inits.map((t, i) => makeNode('Add', [i === 0 ? 'x' : `y${i - 1}`, t.name], [i === 8 ? 'y' : `y${i}`], `add${i}`));
    const vi = (name: string) => onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimValue: chunk / 4 }] } } } });
    const model = onnx.ModelProto.create({
      irVersion: 9,
      opsetImport: [{ domain: '', version: 13 }],
      graph: onnx.GraphProto.create({ name: 'big', node: nodes as never, initializer: inits as never, input: [vi('x')], output: [vi('y')] }),
    }) as unknown as ModelProto;
    const file = path.join(dir, 'big.onnx');
    const res = saveModel(model, file);
    assert.equal(res.external, true, 'external data chosen automatically');
    assert.ok(res.bytes > TWO_GIB);
    assert.ok(fs.statSync(file).size < 64 * 1024, 'the model file holds no weights');
    assert.ok(fs.statSync(`${file}_data`).size >= 9 * chunk);
    const back = loadModel(file);
    assert.equal(back.graph!.initializer.length, 9);
    for (const [i, t] of back.graph!.initializer.entries()) {
      assert.equal(t.rawData.length, chunk, t.name);
      assert.equal(t.rawData[0], i + 1);
      assert.equal(t.rawData[chunk - 1], i + 1);
      assert.equal(t.rawData[(chunk / 2) | 0], i + 1);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
