import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { profileTrt, findTrtexec } from './trt-profile.js';
import { addEngineHeader } from '../core/engine/header.js';
import { FailedPrecondition, InvalidArgument } from '../core/errors.js';

// trtexec does not run on this host: a stand-in script replays a trtexec log (test/fixtures/trtexec).
const FAKE = fileURLToPath(new URL('../../test/fixtures/trtexec/fake-trtexec.sh', import.meta.url));
const engine = addEngineHeader(new TextEncoder().encode('serialized engine bytes'));

test('profileTrt: runs trtexec on the stripped engine, parses the summary, maps layers', async () => {
  const p = await profileTrt(engine, { trtexecPath: FAKE, layerwise: true, nodeNames: ['/conv1/Conv', '/relu/Relu', '/fc/Gemm'] });
  assert.equal(p.runtime, 'TRT');
  assert.equal(p.latencyMs.mean, 1.23112);
  assert.equal(p.referenceLatencyMs, 1.29736);
  assert.equal(p.gpuComputeMs!.median, 0.968704);
  assert.equal(p.throughput, 805.243);
  const byNode = new Map(p.layers.map((l) => [l.node, l.ms]));
  assert.ok(Math.abs(byNode.get('/fc/Gemm')! - 0.009) < 1e-9);
  assert.match(p.rawLog, /--loadEngine=.*model\.engine --warmUp=500 --iterations=100 --avgRuns=100 --duration=0 --device=0/);
  assert.match(p.rawLog, /--separateProfileRun --exportProfile=/);
  const plain = await profileTrt(engine, { trtexecPath: FAKE });
  assert.deepEqual(plain.layers, []);
  assert.doesNotMatch(plain.rawLog.split('\n')[0]!, /separateProfileRun|exportProfile/);
});

test('profileTrt: no trtexec → FailedPrecondition; bad header or shapes → InvalidArgument', async () => {
  const saved = { path: process.env['PATH'], env: process.env['MODELOPT_TRTEXEC'] };
  process.env['PATH'] = '/nonexistent';
  delete process.env['MODELOPT_TRTEXEC'];
  try {
    assert.equal(findTrtexec(), undefined);
    await assert.rejects(profileTrt(engine), (e: unknown) => e instanceof FailedPrecondition && /needs trtexec/.test(e.message));
  } finally {
    process.env['PATH'] = saved.path;
    if (saved.env !== undefined) process.env['MODELOPT_TRTEXEC'] = saved.env;
  }
  const bad = new Uint8Array(engine);
  bad[40]! ^= 1;
  await assert.rejects(profileTrt(bad, { trtexecPath: FAKE }), InvalidArgument);
  await assert.rejects(profileTrt(engine, { trtexecPath: FAKE, shapes: 'input 1x3' }), InvalidArgument);
});
