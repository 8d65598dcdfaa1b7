import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { IntegrityError } from './errors.js';
import type { ArtifactRef } from './types.js';

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** sha256 and size of a file, streamed. */
export async function hashFile(path: string): Promise<{ sha256: string; sizeBytes: number }> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const buf = chunk as Buffer;
    hash.update(buf);
    sizeBytes += buf.length;
  }
  return { sha256: hash.digest('hex'), sizeBytes };
}

/** Throws IntegrityError when `data` does not match `ref`. */
export function verifyBytes(ref: ArtifactRef, data: Uint8Array): void {
  const actual = sha256Hex(data);
  if (actual !== ref.sha256) {
    throw new IntegrityError(ref.uri, ref.sha256, actual);
  }
  if (data.length !== ref.sizeBytes) {
    throw new IntegrityError(ref.uri, ref.sha256, actual, `size ${data.length} != ${ref.sizeBytes}`);
  }
}

/**
 * Pass-through that hashes what flows through it and fails the stream with an
 * IntegrityError at the end if the content does not match the ref.
 */
export function verifyingTransform(ref: ArtifactRef): Transform {
  const hash = createHash('sha256');
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      const actual = hash.digest('hex');
      if (actual !== ref.sha256) {
        cb(new IntegrityError(ref.uri, ref.sha256, actual));
      } else if (size !== ref.sizeBytes) {
        cb(new IntegrityError(ref.uri, ref.sha256, actual, `size ${size} != ${ref.sizeBytes}`));
      } else {
        cb();
      }
    },
  });
}

const SHA256_RE = /^[0-9a-f]{64}$/;
export function isSha256Hex(s: string): boolean {
  return SHA256_RE.test(s);
}
