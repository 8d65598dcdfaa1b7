/** ArtifactService over a real socket: a multi-chunk upload, a verified download, bad uploads. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { createServer } from '../../services/core/grpc/server.js';
import { callClientStream, callServerStream, createClient } from '../../services/core/grpc/client.js';
import { artifactService } from '../../services/core/grpc/artifact-service.js';
import { ArtifactServiceClient, type UploadRequest } from '../../gen/modelopt/v1/artifacts.js';
import { FileArtifactStore } from '../../services/core/artifacts/index.js';

test('upload in chunks, download in chunks, bytes and sha256 identical; a lying header is rejected and stores nothing', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'transfer-'));
  const store = new FileArtifactStore(root);
  const srv = await createServer({ name: 'artifacts', port: 0, host: '127.0.0.1', services: [artifactService(store)] });
  const c = createClient(ArtifactServiceClient, srv.address);
  try {
    const data = randomBytes(3 * 1024 * 1024 + 123);
    const sha = createHash('sha256').update(data).digest('hex');
    const parts: UploadRequest[] = [{ header: { name: 'm.onnx', mediaType: 'application/onnx', sizeBytes: data.length, sha256: sha } }];
    for (let off = 0; off < data.length; off += 256 * 1024) parts.push({ chunk: data.subarray(off, off + 256 * 1024) });
    const res = await callClientStream(c, c.upload, parts);
    assert.equal(res.ref!.sha256, sha);
    assert.equal(res.ref!.sizeBytes, data.length);
    assert.equal(res.ref!.mediaType, 'application/onnx', 'media type from the header is kept');
    const got: Buffer[] = [];
    let expectedOffset = 0;
    for await (const msg of callServerStream(c, c.download, { ref: res.ref, chunkSize: 1 << 20 })) {
      assert.equal(msg.offset, expectedOffset);
      expectedOffset += msg.chunk.length;
      got.push(msg.chunk);
    }
    assert.ok(got.length >= 4, 'downloaded in several chunks');
    assert.equal(Buffer.compare(Buffer.concat(got), data), 0);

    const before = fs.readdirSync(root, { recursive: true }).length;
    await assert.rejects(
      callClientStream(c, c.upload, [{ header: { name: 'x', mediaType: '', sizeBytes: 0, sha256: '0'.repeat(64) } }, { chunk: Buffer.from('hello') }]),
      (e: grpc.ServiceError) => e.code === grpc.status.DATA_LOSS,
    );
    await assert.rejects(
      callClientStream(c, c.upload, [{ header: { name: 'x', mediaType: '', sizeBytes: 2, sha256: '' } }, { chunk: Buffer.from('hello') }]),
      (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT && /declared/.test(e.details),
    );
    const files = (fs.readdirSync(root, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(root, f)).isFile());
    assert.equal(files.length, 1, `only the good upload is stored (had ${before} entries before): ${files.join(', ')}`);
  } finally {
    c.close();
    await srv.shutdown();
    fs.rmSync(root, { recursive: true, force: true });
  }
});
