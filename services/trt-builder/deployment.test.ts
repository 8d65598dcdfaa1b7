import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateDeployment, DEPLOYMENT_TABLES } from './deployment.js';
import { InvalidArgument } from '../core/errors.js';
import { parseShapeSpec, shapeProfiles, formatShapeSpec } from './shapes.js';

const invalid = (re: RegExp) => (err: unknown) => err instanceof InvalidArgument && re.test(err.message);

test('missing keys take the first listed value', () => {
  assert.deepEqual(validateDeployment({ runtime: 'TRT', version: '10.0' }), {
    runtime: 'TRT', version: '10.0', accelerator: 'GPU', precision: 'fp32', onnx_opset: '13',
  });
  assert.deepEqual(validateDeployment({ runtime: 'ORT', version: '1.16' }), {
    runtime: 'ORT', version: '1.16', accelerator: 'CPU', precision: 'fp32', onnx_opset: '13',
  });
});

test('explicit values from the table are kept', () => {
  const d = validateDeployment({ runtime: 'TRT', version: '8.6', precision: 'int8', onnx_opset: '19', accelerator: 'GPU' });
  assert.equal(d.precision, 'int8');
  assert.equal(d.onnx_opset, '19');
  for (const p of DEPLOYMENT_TABLES.TRT.precision) assert.equal(validateDeployment({ runtime: 'TRT', version: '9.3', precision: p }).precision, p);
});

test('version is required even though it has a table', () => {
  assert.throws(() => validateDeployment({ runtime: 'TRT' }), invalid(/"version" must be provided/));
  assert.throws(() => validateDeployment({ runtime: 'ORT', precision: 'fp32' }), invalid(/"version"/));
});

test('runtime missing or unknown', () => {
  assert.throws(() => validateDeployment({ version: '1.16' }), invalid(/"runtime" was not set/));
  assert.throws(() => validateDeployment({ runtime: 'TVM', version: '1' }), invalid(/runtime "TVM" is not supported/));
});

test('unknown keys are named', () => {
  assert.throws(() => validateDeployment({ runtime: 'ORT', version: '1.16', batch: '4', device: 'x' }), invalid(/"batch".*"device"/));
});

test('values outside the table are named', () => {
  assert.throws(() => validateDeployment({ runtime: 'ORT', version: '1.17' }), invalid(/version="1\.17"/));
  assert.throws(() => validateDeployment({ runtime: 'ORT', version: '1.16', precision: 'fp16' }), invalid(/precision="fp16"/));
  assert.throws(() => validateDeployment({ runtime: 'TRT', version: '10.0', onnx_opset: '12', precision: 'bf16' }), invalid(/precision="bf16".*onnx_opset="12"|onnx_opset="12"/));
  assert.throws(() => validateDeployment({ runtime: 'TRT', version: '10.0', accelerator: 'CPU' }), invalid(/accelerator="CPU"/));
});

test('all values must be strings', () => {
  assert.throws(() => validateDeployment({ runtime: 'TRT', version: 10 }), invalid(/version \(number\)/));
  assert.throws(() => validateDeployment({ runtime: 'TRT', version: '10.0', onnx_opset: 17 }), invalid(/onnx_opset \(number\)/));
});

test('shape specs parse and round-trip; profiles check ordering', () => {
  const m = parseShapeSpec('input:1x3x224x224,mask:1x128');
  assert.deepEqual(m, { input: [1, 3, 224, 224], mask: [1, 128] });
  assert.equal(formatShapeSpec(m), 'input:1x3x224x224,mask:1x128');
  assert.deepEqual(parseShapeSpec('onnx::x:4'), { 'onnx::x': [4] });
  assert.throws(() => parseShapeSpec('input:1xAx3'), invalid(/not a non-negative integer/));
  assert.throws(() => parseShapeSpec('input'), invalid(/name:d0xd1/));
  const p = shapeProfiles({ min: 'x:1x3', opt: 'x:4x3', max: 'x:8x3' });
  assert.deepEqual(p, [{ name: 'x', min: [1, 3], opt: [4, 3], max: [8, 3] }]);
  assert.throws(() => shapeProfiles({ min: 'x:8x3', opt: 'x:4x3', max: 'x:8x3' }), invalid(/min ≤ opt ≤ max/));
  assert.throws(() => shapeProfiles({ min: 'x:1x3', opt: 'y:4x3', max: 'x:8x3' }), invalid(/same inputs/));
});
