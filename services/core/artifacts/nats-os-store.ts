import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { NatsConnection, ObjectStore, ObjectStoreOptions } from 'nats';
import { ArtifactNotFoundError, InvalidArtifactRefError } from './errors.js';
import { hashFile, sha256Hex, verifyBytes, verifyingTransform } from './hashing.js';
import { FileArtifactStore } from './file-store.js';
import { DEFAULT_MEDIA_TYPE, type ArtifactRef, type ArtifactSource, type ArtifactStore, type PutOptions } from './types.js';

export interface NatsObjectStoreOptions {
  /** passed to `js.views.os` when the bucket is created */
  bucketOptions?: Partial<ObjectStoreOptions>;
  /** close the connection in close() (set when the store opened it itself) */
  ownsConnection?: boolean;
}

const BUCKET_RE = /^[a-zA-Z0-9_-]+$/;

/** Parse `nats-os://bucket/key` (key may be empty for a store location). */
export function parseNatsOsUri(uri: string): { bucket: string; key: string } {
  const m = /^nats-os:\/\/([^/]+)(?:\/(.*))?$/.exec(uri);
  if (!m) throw new InvalidArtifactRefError(`not a nats-os:// URI: ${uri}`);
  const bucket = decodeURIComponent(m[1]!);
  if (!BUCKET_RE.test(bucket)) throw new InvalidArtifactRefError(`invalid object store bucket name in ${uri}`);
  return { bucket, key: m[2] ? decodeURIComponent(m[2]) : '' };
}

/**
 * Content-addressed artifacts in a JetStream object store bucket.
 * Keys are the sha256 of the content; a put of content already present is skipped.
 * Objects become visible only when the library writes the final meta record, so an
 * interrupted upload never yields a readable partial object.
 */
export class NatsObjectArtifactStore implements ArtifactStore {
  readonly bucket: string;
  readonly location: string;
  private readonly nc: NatsConnection;
  private readonly opts: NatsObjectStoreOptions;
  private osPromise: Promise<ObjectStore> | undefined;

  constructor(nc: NatsConnection, bucket: string, opts: NatsObjectStoreOptions = {}) {
    if (!BUCKET_RE.test(bucket)) throw new InvalidArtifactRefError(`invalid object store bucket name: ${bucket}`);
    this.nc = nc;
    this.bucket = bucket;
    this.location = `nats-os://${bucket}`;
    this.opts = opts;
  }

  private os(): Promise<ObjectStore> {
    this.osPromise ??= this.nc.jetstream().views.os(this.bucket, this.opts.bucketOptions);
    return this.osPromise;
  }

  private uriFor(key: string): string {
    return `nats-os://${this.bucket}/${encodeURIComponent(key)}`;
  }

  private keyOf(ref: ArtifactRef): string {
    const { bucket, key } = parseNatsOsUri(ref.uri);
    if (bucket !== this.bucket) {
      throw new InvalidArtifactRefError(`ref ${ref.uri} belongs to bucket ${bucket}, not ${this.bucket}`);
    }
    if (!key) throw new InvalidArtifactRefError(`ref ${ref.uri} has no object key`);
    return key;
  }

  private async present(key: string, size: number): Promise<boolean> {
    const info = await (await this.os()).info(key);
    return info !== null && !info.deleted && info.size === size;
  }

  async put(data: ArtifactSource, options: PutOptions = {}): Promise<ArtifactRef> {
    if (!(data instanceof Uint8Array)) {
      // Streams are spooled to a private temp file first: the key is the content hash,
      // which is known only at the end.
      const dir = await mkdtemp(join(tmpdir(), 'modelopt-os-'));
      try {
        const spool = new FileArtifactStore(dir);
        const local = await spool.put(data, options);
        return await this.putFile(spool.pathOf(local), options);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    const sha256 = sha256Hex(data);
    const mediaType = options.mediaType ?? DEFAULT_MEDIA_TYPE;
    if (!(await this.present(sha256, data.length))) {
      await (await this.os()).putBlob({ name: sha256, metadata: { mediaType } }, data);
    }
    return { uri: this.uriFor(sha256), sha256, sizeBytes: data.length, mediaType };
  }

  async putFile(path: string, options: PutOptions = {}): Promise<ArtifactRef> {
    try {
      await stat(path);
    } catch (err) {
      throw new ArtifactNotFoundError(`file://${path}`, { cause: err });
    }
    const { sha256, sizeBytes } = await hashFile(path);
    const mediaType = options.mediaType ?? DEFAULT_MEDIA_TYPE;
    if (!(await this.present(sha256, sizeBytes))) {
      const web = Readable.toWeb(createReadStream(path, { highWaterMark: 1 << 20 })) as WebReadableStream<Uint8Array>;
      const info = await (await this.os()).put(
        { name: sha256, metadata: { mediaType } },
        web as unknown as ReadableStream<Uint8Array>,
      );
      if (info.size !== sizeBytes) {
        throw new Error(`object store stored ${info.size} bytes for ${path}, expected ${sizeBytes} (file changed during upload?)`);
      }
    }
    return { uri: this.uriFor(sha256), sha256, sizeBytes, mediaType };
  }

  async get(ref: ArtifactRef): Promise<Buffer> {
    const stream = await this.openRawStream(ref);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
    const data = Buffer.concat(chunks);
    verifyBytes(ref, data);
    return data;
  }

  async openRead(ref: ArtifactRef): Promise<Readable> {
    const raw = await this.openRawStream(ref);
    const verify = verifyingTransform(ref);
    raw.on('error', (err) => verify.destroy(err));
    return raw.pipe(verify);
  }

  private async openRawStream(ref: ArtifactRef): Promise<Readable> {
    const key = this.keyOf(ref);
    const result = await (await this.os()).get(key);
    if (result === null || result.info.deleted) throw new ArtifactNotFoundError(ref.uri);
    const readable = Readable.fromWeb(result.data as unknown as WebReadableStream<Uint8Array>);
    // The library reports transfer problems (including its own digest check) here.
    void result.error.then((err) => {
      if (err) readable.destroy(err);
    });
    return readable;
  }

  async exists(ref: ArtifactRef): Promise<boolean> {
    return this.present(this.keyOf(ref), ref.sizeBytes);
  }

  async delete(ref: ArtifactRef): Promise<boolean> {
    const key = this.keyOf(ref);
    const os = await this.os();
    const info = await os.info(key);
    if (info === null || info.deleted) return false;
    await os.delete(key);
    return true;
  }

  async close(): Promise<void> {
    if (this.opts.ownsConnection) await this.nc.drain();
  }
}
