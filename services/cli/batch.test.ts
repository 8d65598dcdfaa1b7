import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgument } from '../core/errors.js';
import { FileArtifactStore } from '../core/artifacts/index.js';
import type { ArtifactRef } from '../core/artifacts/types.js';
import { stageKeyFor } from '../core/pipeline/plan.js';
import { createQuantizePlan, getJson, normalizeJobOptions, putJson } from '../core/pipeline/quantize-flow.js';
import { countByStatus, formatCounts, loadJobsFile, parseJobs } from './batch.js';

const ref = (c: string, mediaType = 'application/x-onnx'): ArtifactRef => ({ uri: `file:///x/${c}`, sha256: c.repeat(64).slice(0, 64), sizeBytes: 1, mediaType });

test('a cross product gives models × configs jobs, paths relative to the jobs file, readable names', () => {
  const specs = parseJobs(
    {
      models: ['m/a.onnx', { model: 'm/b.onnx', calibrationData: 'd/b.npz', name: 'bee' }],
      configs: [{ name: 'mm', quantizeMode: 'int8', calibrationMethod: 'minmax' }, { options: { quantizeMode: 'fp8' } }],
    },
    '/base',
  );
  assert.deepEqual(specs.map((s) => s.name), ['a_mm', 'a_fp8_distribution', 'bee_mm', 'bee_fp8_distribution']);
  assert.equal(specs[0]!.model, '/base/m/a.onnx');
  assert.equal(specs[2]!.calibrationData, '/base/d/b.npz');
  assert.equal(specs[1]!.options.calibrationMethod, 'distribution', 'FP8 always calibrates with distribution');
  assert.equal(specs[0]!.options.calibrationMethod, 'minmax');
});

test('a list of jobs, and bad jobs files rejected with the reason', () => {
  const specs = parseJobs([{ model: 'a.onnx', options: { quantizeMode: 'int4_rtn' } }], '/b');
  assert.equal(specs[0]!.name, 'a_int4_rtn');
  const noCompare = parseJobs([{ model: 'a.onnx', calibrationData: 'c.npz', compare: false }], '/b');
  assert.equal(noCompare[0]!.compare, false);
  assert.throws(() => parseJobs([{ model: 'a.onnx', compare: 'no' }], '/b'), /compare must be true or false/);
  assert.throws(() => parseJobs([{ model: 'a.onnx', options: { quantize_mode: 'int8' } }], '/b'), (e: unknown) => e instanceof InvalidArgument && /unknown option\(s\) quantize_mode/.test(e.message));
  assert.throws(() => parseJobs([{ model: 'a.onnx', options: { quantizeMode: 'int3' } }], '/b'), /quantizeMode "int3"/);
  assert.throws(() => parseJobs([{ calibrationData: 'x.npz' }], '/b'), /"model"/);
  assert.throws(() => parseJobs({ models: ['a.onnx'] }, '/b'), /"configs" must be a non-empty list/);
  assert.throws(() => parseJobs({ model: 'a.onnx' }, '/b'), /unknown key\(s\) model/);
  assert.throws(() => parseJobs([], '/b'), /no job/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batch-unit-'));
  try {
    fs.writeFileSync(path.join(dir, 'jobs.json'), JSON.stringify([{ model: 'missing.onnx' }]));
    assert.throws(() => loadJobsFile(path.join(dir, 'jobs.json')), /file not found: .*missing\.onnx/);
    fs.writeFileSync(path.join(dir, 'bad.json'), '{ nope');
    assert.throws(() => loadJobsFile(path.join(dir, 'bad.json')), /is not JSON/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('plans: stages by mode, content-addressed job ids', () => {
  const model = ref('a');
  const calib = ref('b', 'application/x-npz');
  const int8 = createQuantizePlan({ model, calibrationData: calib }, normalizeJobOptions({ calibrationMethod: 'minmax' }), { label: 'a_mm' });
  assert.deepEqual(int8.stages.map((s) => `${s.name}@${s.service}`), ['prepare@graph-analyzer', 'analyze@graph-analyzer', 'calibrate@calibrator', 'quantize@quantizer', 'export@exporter', 'compare@exporter']);
  assert.equal(int8.inputs['eval_data'], calib, 'compare falls back to the calibration data');
  assert.equal(int8.jobId, `a_mm-${int8.jobKey.slice(0, 16)}`);
  const same = createQuantizePlan({ model, calibrationData: calib }, normalizeJobOptions({ calibrationMethod: 'minmax' }), { label: 'a_mm' });
  assert.equal(same.jobId, int8.jobId);
  const renamed = createQuantizePlan({ model, calibrationData: calib }, normalizeJobOptions({ calibrationMethod: 'minmax' }), { label: 'other' });
  assert.equal(renamed.jobKey, int8.jobKey, 'the label is not part of the content');
  const entropy = createQuantizePlan({ model, calibrationData: calib }, normalizeJobOptions({ calibrationMethod: 'entropy' }), { label: 'a_mm' });
  assert.notEqual(entropy.jobId, int8.jobId);
  assert.equal(stageKeyFor(entropy.inputs, entropy.stages, 1), stageKeyFor(int8.inputs, int8.stages, 1), 'prepare and analyze are shared between calibration methods');
  assert.notEqual(stageKeyFor(entropy.inputs, entropy.stages, 2), stageKeyFor(int8.inputs, int8.stages, 2));
  const rtn = createQuantizePlan({ model }, normalizeJobOptions({ quantizeMode: 'int4_rtn' }));
  assert.deepEqual(rtn.stages.map((s) => s.name), ['prepare', 'analyze', 'quantize', 'export'], 'no calibration, no eval data: no compare');
  const off = createQuantizePlan({ model, calibrationData: calib }, normalizeJobOptions({}), { compare: false });
  assert.ok(!off.stages.some((s) => s.name === 'compare') && off.inputs['eval_data'] === undefined);
  const awq = createQuantizePlan({ model, calibrationData: calib }, normalizeJobOptions({ quantizeMode: 'int4_awq_clip' }));
  assert.equal(awq.stages.find((s) => s.name === 'calibrate')!.config['captureActivations'], true);
});

test('JSON artifacts keep non-finite numbers; counts by status', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batch-json-'));
  try {
    const store = new FileArtifactStore(dir);
    const r = await putJson(store, { a: Infinity, b: [-Infinity, NaN, 1.5], c: 'x' });
    const back = await getJson<{ a: number; b: number[]; c: string }>(store, r, 'table');
    assert.equal(back.a, Infinity);
    assert.equal(back.b[0], -Infinity);
    assert.ok(Number.isNaN(back.b[1]));
    assert.equal(back.b[2], 1.5);
    assert.equal(r.mediaType, 'application/json');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const c = countByStatus([{ status: 'completed' }, { status: 'failed' }, { status: 'completed' }, undefined] as never);
  assert.deepEqual(c, { queued: 0, running: 0, completed: 2, failed: 1 });
  assert.equal(formatCounts(c, 4), '4 job(s): 2 completed, 1 failed, 0 running, 0 queued');
});
