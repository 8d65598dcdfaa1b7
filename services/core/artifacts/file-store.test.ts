import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { FileArtifactStore, IntegrityError, ArtifactNotFoundError, InvalidArtifactRefError, writeFileAtomic, storeFor, resolveStore, ArtifactRouter } from './index.js';

async function tmp(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'modelopt-art-'));
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath ?? e.path, e.name));
  }
  return out;
}

async function* failingSource(goodChunks: number, chunk = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < goodChunks; i++) yield randomBytes(chunk);
  throw new Error('source failed midway');
}

test('put/get round trip is content addressed and deduplicated', async () => {
  const root = await tmp();
  try {
    const store = new FileArtifactStore(root);
    const data = randomBytes(300_000);
    const ref = await store.put(data, { mediaType: 'application/x-onnx' });
    assert.equal(ref.sha256, createHash('sha256').update(data).digest('hex'));
    assert.equal(ref.sizeBytes, data.length);
    assert.equal(ref.mediaType, 'application/x-onnx');
    assert.ok(ref.uri.startsWith('file://') && ref.uri.endsWith(ref.sha256));
    assert.deepEqual(await store.get(ref), data);
    assert.equal(await store.exists(ref), true);
    const again = await store.put(Readable.from([data.subarray(0, 1000), data.subarray(1000)]));
    assert.equal(again.uri, ref.uri);
    assert.equal((await listFiles(root)).length, 1);
    const streamed: Buffer[] = [];
    for await (const c of await store.openRead(ref)) streamed.push(c as Buffer);
    assert.deepEqual(Buffer.concat(streamed), data);
    assert.equal(await store.delete(ref), true);
    assert.equal(await store.exists(ref), false);
    assert.equal(await store.delete(ref), false);
    await assert.rejects(store.get(ref), ArtifactNotFoundError);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a write that fails midway leaves no file behind', async () => {
  const root = await tmp();
  try {
    const store = new FileArtifactStore(root);
    await assert.rejects(store.put(failingSource(5)), /source failed midway/);
    assert.deepEqual(await listFiles(root), []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('putFile streams a file into the store', async () => {
  const root = await tmp();
  try {
    const src = join(root, 'input.bin');
    const data = randomBytes(3 * 1024 * 1024 + 17);
    await writeFile(src, data);
    const store = new FileArtifactStore(join(root, 'store'));
    const ref = await store.putFile(src, { mediaType: 'application/octet-stream' });
    assert.equal(ref.sizeBytes, data.length);
    assert.deepEqual(await store.get(ref), data);
    await assert.rejects(store.putFile(join(root, 'missing.bin')), ArtifactNotFoundError);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('corruption on disk is detected by get and by openRead', async () => {
  const root = await tmp();
  try {
    const store = new FileArtifactStore(root);
    const data = randomBytes(200_000);
    const ref = await store.put(data);
    const path = store.pathOf(ref);
    const bad = Buffer.from(data);
    bad[12345] = bad[12345]! ^ 0xff;
    await writeFile(path, bad);
    await assert.rejects(store.get(ref), (err: unknown) => {
      assert.ok(err instanceof IntegrityError);
      assert.equal(err.code, 'DATA_LOSS');
      assert.equal(err.expectedSha256, ref.sha256);
      assert.match(err.message, /integrity/);
      return true;
    });
    const rs = await store.openRead(ref);
    await assert.rejects(async () => {
      for await (const _ of rs) {
        // drain
      }
    }, IntegrityError);
    // truncated file: size check
    await writeFile(path, data.subarray(0, 1000));
    await assert.rejects(store.openRead(ref), IntegrityError);
    await assert.rejects(store.get(ref), IntegrityError);
    // a fresh put repairs the object
    await store.put(data);
    assert.deepEqual(await store.get(ref), data);
    // a ref whose sha is wrong for the bytes
    await assert.rejects(store.get({ ...ref, sha256: '0'.repeat(64) }), IntegrityError);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('writeFileAtomic replaces whole or not at all', async () => {
  const dir = await tmp();
  try {
    const target = join(dir, 'out', 'model.quant.onnx');
    assert.equal(await writeFileAtomic(target, 'first version'), 13);
    assert.equal(await readFile(target, 'utf8'), 'first version');
    await assert.rejects(writeFileAtomic(target, failingSource(3)), /source failed midway/);
    assert.equal(await readFile(target, 'utf8'), 'first version');
    assert.deepEqual((await readdir(join(dir, 'out'))).sort(), ['model.quant.onnx']);
    const big = randomBytes(1 << 20);
    await writeFileAtomic(target, Readable.from([big.subarray(0, 100), big.subarray(100)]));
    assert.deepEqual(await readFile(target), big);
    await assert.rejects(writeFileAtomic(join(dir, 'nope'), failingSource(0)));
    await assert.rejects(stat(join(dir, 'nope')), { code: 'ENOENT' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('storeFor / resolveStore / ArtifactRouter route by URI', async () => {
  const root = await tmp();
  try {
    const store = await storeFor(`file://${root}`);
    assert.ok(store instanceof FileArtifactStore);
    const ref = await store.put(Buffer.from('hello'));
    const resolved = await resolveStore(ref);
    assert.ok(resolved instanceof FileArtifactStore);
    assert.equal((resolved as FileArtifactStore).root, root);
    assert.equal((await resolved.get(ref)).toString(), 'hello');
    const router = await ArtifactRouter.open(root);
    assert.equal((await router.get(ref)).toString(), 'hello');
    await router.close();
    await assert.rejects(storeFor('s3://bucket'), InvalidArtifactRefError);
    await assert.rejects(resolveStore('http://x/y'), InvalidArtifactRefError);
    await assert.rejects(store.delete({ ...ref, uri: 'file:///etc/passwd' }), InvalidArtifactRefError);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('artifact errors are DomainErrors with gRPC-mappable codes', async () => {
  const { DomainError, NotFound, InvalidArgument } = await import('../errors.js');
  const root = await tmp();
  try {
    const store = new FileArtifactStore(root);
    const ref = await store.put(Buffer.from('x'));
    await store.delete(ref);
    const err = await store.get(ref).catch((e: unknown) => e);
    assert.ok(err instanceof NotFound && err instanceof DomainError);
    assert.equal((err as InstanceType<typeof NotFound>).code, 'NOT_FOUND');
    const bad = await storeFor('s3://b').catch((e: unknown) => e);
    assert.ok(bad instanceof InvalidArgument);
    const integ = new IntegrityError('file:///x', 'a', 'b');
    assert.ok(integ instanceof DomainError);
    assert.equal(integ.code, 'DATA_LOSS');
    assert.equal(integ.name, 'IntegrityError');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
