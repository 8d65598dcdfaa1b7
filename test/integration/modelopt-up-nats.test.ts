/**
 * `modelopt up --nats URL` on a real NATS server: six SERVING services whose artifacts live in the
 * JetStream object store (an upload through the ArtifactService comes back as nats-os://) and whose
 * job events travel on NATS subjects.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { connect, JSONCodec } from 'nats';
import { checkHealth, callClientStream, createClient } from '../../services/core/grpc/client.js';
import { ServingStatus } from '../../services/core/grpc/health.js';
import { ArtifactServiceClient } from '../../gen/modelopt/v1/artifacts.js';
import { createEventBus } from '../../services/core/events/index.js';
import { jobSubject } from '../../services/core/events/subjects.js';
import { getNats } from '../harness/nats.js';
import { REPO_ROOT } from '../helpers/shared.js';

test('modelopt up --nats: SERVING, artifacts in the JetStream object store, events on NATS', { timeout: 90_000 }, async () => {
  const nats = await getNats();
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/modelopt.js'), 'up', '--base-port', '0', '--host', '127.0.0.1', '--log-level', 'warn', '--nats', nats.url], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const t0 = Date.now();
    while (!out.includes('ready\n')) {
      assert.ok(Date.now() - t0 < 45_000, `no "ready"; stdout=${out} stderr=${err}`);
      assert.equal(child.exitCode, null, `exited early: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const rows = out.split('\n').filter((l) => l.includes('\tmodelopt.v1.')).map((l) => l.split('\t') as [string, string, string]);
    assert.equal(rows.length, 6);
    for (const [, address, grpcName] of rows) assert.equal(await checkHealth(address, grpcName), ServingStatus.SERVING, grpcName);

    const client = createClient(ArtifactServiceClient, rows[1]![1]);
    const data = randomBytes(200_000);
    const res = await callClientStream(client, client.upload, [{ header: { name: 'blob', mediaType: 'application/octet-stream', sizeBytes: data.length, sha256: '' } }, { chunk: data }]);
    client.close();
    assert.match(res.ref!.uri, /^nats-os:\/\/modelopt-artifacts\//);

    // A job event published through the NATS bus is visible to a plain NATS subscriber.
    const nc = await connect({ servers: nats.url });
    const jobId = `t${randomUUID().slice(0, 8)}`;
    const sub = nc.subscribe(`modelopt.jobs.${jobId}.>`, { max: 1 });
    const bus = await createEventBus({ kind: 'nats', servers: nats.url });
    await bus.publish(jobSubject(jobId, 'calibrate', 'started'), { jobId, stage: 'calibrate', kind: 'started', timestampMs: Date.now() });
    const got = await (async () => {
      for await (const m of sub) return { subject: m.subject, data: JSONCodec<{ stage: string }>().decode(m.data) };
      return undefined;
    })();
    assert.equal(got?.subject, `modelopt.jobs.${jobId}.calibrate.started`);
    assert.equal(got?.data.stage, 'calibrate');
    await bus.close();
    await nc.close();

    child.kill('SIGTERM');
    assert.equal(await exited, 0, err);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await nats.stop();
  }
});
