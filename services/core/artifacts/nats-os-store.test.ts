import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { connect, type NatsConnection } from 'nats';
import { getNats, type TestNats } from '../../../test/harness/nats.js';
import { NatsObjectArtifactStore, IntegrityError, ArtifactNotFoundError, InvalidArtifactRefError, storeFor, resolveStore, ArtifactRouter, FileArtifactStore } from './index.js';

let nats: TestNats;
let nc: NatsConnection;
const bucket = `modelopt_test_${process.pid}_${randomBytes(3).toString('hex')}`;

before(async () => {
  nats = await getNats();
  nc = await connect({ servers: nats.url });
});

after(async () => {
  try {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(`OBJ_${bucket}`).catch(() => undefined);
  } finally {
    await nc.close();
    await nats.stop();
  }
});

test('multi-MB round trip through the JetStream object store', async () => {
  const store = new NatsObjectArtifactStore(nc, bucket);
  const data = randomBytes(5 * 1024 * 1024 + 123);
  const ref = await store.put(data, { mediaType: 'application/x-onnx' });
  assert.equal(ref.uri, `nats-os://${bucket}/${ref.sha256}`);
  assert.equal(ref.sha256, createHash('sha256').update(data).digest('hex'));
  assert.equal(ref.sizeBytes, data.length);
  assert.equal(await store.exists(ref), true);
  const back = await store.get(ref);
  assert.ok(back.equals(data));
  const chunks: Buffer[] = [];
  for await (const c of await store.openRead(ref)) chunks.push(c as Buffer);
  assert.ok(Buffer.concat(chunks).equals(data));
  // same content again is a no-op with the same ref
  assert.deepEqual(await store.put(data, { mediaType: 'application/x-onnx' }), ref);
  // wrong sha in the ref → IntegrityError
  await assert.rejects(store.get({ ...ref, sha256: 'f'.repeat(64) }), IntegrityError);
  assert.equal(await store.delete(ref), true);
  assert.equal(await store.exists(ref), false);
  await assert.rejects(store.get(ref), ArtifactNotFoundError);
});

test('putFile and stream put land under the content hash', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'modelopt-os-test-'));
  try {
    const store = await storeFor(`nats-os://${bucket}`, { nc });
    const data = randomBytes(2 * 1024 * 1024);
    const path = join(dir, 'm.onnx');
    await writeFile(path, data);
    const fromFile = await store.putFile(path);
    const fromStream = await store.put(Readable.from([data.subarray(0, 7), data.subarray(7)]));
    assert.equal(fromFile.uri, fromStream.uri);
    const router = new ArtifactRouter(new FileArtifactStore(join(dir, 'local')), { nc });
    assert.ok((await router.get(fromFile)).equals(data));
    const resolved = await resolveStore(fromFile.uri, { nc });
    assert.ok(resolved instanceof NatsObjectArtifactStore);
    await assert.rejects(resolved.get({ ...fromFile, uri: `nats-os://other_bucket/${fromFile.sha256}` }), InvalidArtifactRefError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a stream that fails midway leaves no object in the bucket', async () => {
  const store = new NatsObjectArtifactStore(nc, bucket);
  async function* failing(): AsyncGenerator<Uint8Array> {
    yield randomBytes(256 * 1024);
    yield randomBytes(256 * 1024);
    throw new Error('upload source broke');
  }
  const os = await nc.jetstream().views.os(bucket);
  const before = (await os.list()).filter((i) => !i.deleted).map((i) => i.name).sort();
  await assert.rejects(store.put(failing()), /upload source broke/);
  const afterList = (await os.list()).filter((i) => !i.deleted).map((i) => i.name).sort();
  assert.deepEqual(afterList, before);
  // a file that vanished is a clear NOT_FOUND, not a half-written object
  await assert.rejects(store.putFile('/nonexistent/model.onnx'), ArtifactNotFoundError);
});
