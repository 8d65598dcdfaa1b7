import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'nats';
import { getNats, probeJetStream, dockerEngineAnswers, findNatsServerBinary } from './nats.js';

async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(vars)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

test('auto discovery yields a JetStream-enabled server', async () => {
  const nats = await withEnv({ MODELOPT_TEST_NATS: undefined }, () => getNats());
  try {
    await probeJetStream(nats.url);
    assert.ok(['env', 'local', 'binary', 'container'].includes(nats.source));
  } finally {
    await nats.stop();
  }
});

test('local branch finds 127.0.0.1:4222', async () => {
  const nats = await withEnv({ MODELOPT_TEST_NATS: 'local' }, () => getNats());
  assert.equal(nats.source, 'local');
  assert.equal(nats.url, 'nats://127.0.0.1:4222');
  await nats.stop();
});

test('env branch uses NATS_URL and reports a dead one', async () => {
  const ok = await withEnv({ MODELOPT_TEST_NATS: 'env', NATS_URL: 'nats://127.0.0.1:4222' }, () => getNats());
  assert.equal(ok.source, 'env');
  await ok.stop();
  await assert.rejects(
    withEnv({ MODELOPT_TEST_NATS: 'env', NATS_URL: 'nats://127.0.0.1:1' }, () => getNats()),
    (err: Error) => /NATS_URL=nats:\/\/127\.0\.0\.1:1/.test(err.message) && /tried/.test(err.message),
  );
});

test('binary branch starts a private nats-server and stops it', async (t) => {
  assert.ok(await findNatsServerBinary(), 'nats-server binary expected on this machine');
  const nats = await withEnv({ MODELOPT_TEST_NATS: 'binary' }, () => getNats());
  assert.equal(nats.source, 'binary');
  assert.notEqual(nats.url, 'nats://127.0.0.1:4222');
  const nc = await connect({ servers: nats.url });
  const kv = await nc.jetstream().views.kv('harness_probe');
  await kv.put('k', new TextEncoder().encode('v'));
  assert.equal(new TextDecoder().decode((await kv.get('k'))!.value), 'v');
  await nc.close();
  await nats.stop();
  await assert.rejects(probeJetStream(nats.url, 500));
  t.diagnostic(`binary server was ${nats.url}`);
});

test('container branch: starts one when Docker answers, else explains why not', async () => {
  const docker = await dockerEngineAnswers();
  if (docker) {
    const nats = await withEnv({ MODELOPT_TEST_NATS: 'container' }, () => getNats());
    assert.equal(nats.source, 'container');
    await probeJetStream(nats.url);
    await nats.stop();
  } else {
    await assert.rejects(
      withEnv({ MODELOPT_TEST_NATS: 'container' }, () => getNats()),
      (err: Error) => /testcontainers NATS: no Docker engine answered/.test(err.message),
    );
  }
});

test('an unknown mode is rejected', async () => {
  await assert.rejects(withEnv({ MODELOPT_TEST_NATS: 'bogus' }, () => getNats()), /expected one of/);
});
