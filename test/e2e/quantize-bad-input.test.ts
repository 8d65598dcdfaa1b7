/** The `modelopt` binary on bad input: one-line error, non-zero exit, no output file. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { REPO_ROOT, modelPath, tmpDir } from '../helpers/shared.js';
import { npyHeaderBytes } from '../../services/core/npy.js';

const dir = tmpDir('bad-input');
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const bin = path.join(REPO_ROOT, 'bin/modelopt.js');

function run(args: string[]): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, [bin, 'quantize', ...args, '--no_report', '--no_compare'], { encoding: 'utf8', timeout: 180_000 });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

function npy(shape: number[], dtype: string, bytes: Buffer): Buffer {
  return Buffer.concat([npyHeaderBytes(dtype, shape), bytes]);
}

const cases: Array<{ name: string; setup: () => string[]; expect: RegExp }> = [
  { name: 'missing model file', setup: () => ['--onnx_path', path.join(dir, 'nope.onnx')], expect: /not found/ },
  {
    name: 'truncated model',
    setup: () => {
      const f = path.join(dir, 'trunc.onnx');
      const b = fs.readFileSync(modelPath('mnist8'));
      fs.writeFileSync(f, b.subarray(0, b.length >> 1));
      return ['--onnx_path', f];
    },
    expect: /not a valid ONNX model/,
  },
  {
    name: 'not an ONNX file',
    setup: () => {
      const f = path.join(dir, 'text.onnx');
      fs.writeFileSync(f, 'hello world\n'.repeat(100));
      return ['--onnx_path', f];
    },
    expect: /not a valid ONNX model/,
  },
  { name: 'unknown quantize_mode', setup: () => ['--onnx_path', modelPath('mnist8'), '--quantize_mode', 'int3'], expect: /unknown quantize_mode "int3"/ },
  { name: 'unknown calibration_method', setup: () => ['--onnx_path', modelPath('mnist8'), '--calibration_method', 'magic'], expect: /unknown calibration_method "magic"/ },
  {
    name: 'calibration array of the wrong shape',
    setup: () => {
      const f = path.join(dir, 'wrong-shape.npy');
      fs.writeFileSync(f, npy([4, 1, 20, 20], '<f4', Buffer.alloc(4 * 400 * 4)));
      return ['--onnx_path', modelPath('mnist8'), '-c', f];
    },
    expect: /shape/,
  },
  {
    name: 'calibration array of the wrong dtype',
    setup: () => {
      const f = path.join(dir, 'wrong-dtype.npy');
      fs.writeFileSync(f, npy([2, 1, 28, 28], '<f8', Buffer.alloc(8 * 784 * 2)));
      return ['--onnx_path', modelPath('mnist8'), '-c', f];
    },
    expect: /dtype|float64|type/,
  },
];

for (const c of cases) {
  test(`bad input: ${c.name}`, () => {
    const output = path.join(dir, `${c.name.replace(/\W+/g, '_')}.quant.onnx`);
    const r = run([...c.setup(), '--output_path', output]);
    assert.notEqual(r.status, 0, `exit code (stderr: ${r.stderr})`);
    assert.match(r.stderr, c.expect);
    const errorLines = r.stderr.split('\n').filter((l) => l.startsWith('modelopt quantize:'));
    assert.equal(errorLines.length, 1, `one error line: ${r.stderr}`);
    assert.equal(fs.existsSync(output), false, 'no output file');
    assert.deepEqual(fs.readdirSync(path.dirname(output)).filter((f) => f.includes('.tmp')), [], 'no temp files left');
  });
}
