import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative, resolve, isAbsolute, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fsyncDir } from './atomic.js';
import { ArtifactNotFoundError, IntegrityError, InvalidArtifactRefError } from './errors.js';
import { verifyBytes, verifyingTransform } from './hashing.js';
import { DEFAULT_MEDIA_TYPE, type ArtifactRef, type ArtifactSource, type ArtifactStore, type PutOptions } from './types.js';

/**
 * Content-addressed store on a local directory:
 *   <root>/sha256/<first two hex>/<sha256 hex>   the objects
 *   <root>/.tmp/                                 in-flight writes (same filesystem, renamed into place)
 * A ref's uri is the absolute file:// URL of the object.
 */
export class FileArtifactStore implements ArtifactStore {
  readonly root: string;
  readonly location: string;

  constructor(root: string) {
    if (!root) throw new InvalidArtifactRefError('file store root must be a non-empty path');
    this.root = resolve(root);
    this.location = pathToFileURL(this.root).href;
  }

  /** Absolute path where content with this sha256 lives. */
  pathForSha(sha256: string): string {
    return join(this.root, 'sha256', sha256.slice(0, 2), sha256);
  }

  async put(data: ArtifactSource, options: PutOptions = {}): Promise<ArtifactRef> {
    return this.ingest(data, options);
  }

  async putFile(path: string, options: PutOptions = {}): Promise<ArtifactRef> {
    let s;
    try {
      s = await stat(path);
    } catch (err) {
      throw new ArtifactNotFoundError(pathToFileURL(resolve(path)).href, { cause: err });
    }
    if (!s.isFile()) throw new InvalidArtifactRefError(`not a regular file: ${path}`);
    return this.ingest(createReadStream(path, { highWaterMark: 1 << 20 }), options);
  }

  private async ingest(data: ArtifactSource, options: PutOptions): Promise<ArtifactRef> {
    const tmpDir = join(this.root, '.tmp');
    await mkdir(tmpDir, { recursive: true });
    const tmp = join(tmpDir, `${process.pid}.${randomBytes(8).toString('hex')}.part`);
    const hash = createHash('sha256');
    let size = 0;
    const fh = await open(tmp, 'wx', 0o644);
    let closed = false;
    let sha256: string;
    try {
      const write = async (buf: Uint8Array): Promise<void> => {
        hash.update(buf);
        let off = 0;
        while (off < buf.length) {
          const { bytesWritten } = await fh.write(buf, off, buf.length - off);
          off += bytesWritten;
        }
        size += buf.length;
      };
      if (data instanceof Uint8Array) await write(data);
      else for await (const chunk of data) await write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      await fh.sync();
      await fh.close();
      closed = true;
      sha256 = hash.digest('hex');
      const finalPath = this.pathForSha(sha256);
      await mkdir(dirname(finalPath), { recursive: true });
      // Renaming over an existing object is fine: same content by construction,
      // and it repairs a previously corrupted copy.
      await rename(tmp, finalPath);
      await fsyncDir(dirname(finalPath));
    } catch (err) {
      if (!closed) await fh.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    return {
      uri: pathToFileURL(this.pathForSha(sha256)).href,
      sha256,
      sizeBytes: size,
      mediaType: options.mediaType ?? DEFAULT_MEDIA_TYPE,
    };
  }

  async get(ref: ArtifactRef): Promise<Buffer> {
    const path = this.pathOf(ref);
    let data: Buffer;
    try {
      data = await readFile(path);
    } catch (err) {
      if (isNotFound(err)) throw new ArtifactNotFoundError(ref.uri, { cause: err });
      throw err;
    }
    verifyBytes(ref, data);
    return data;
  }

  async openRead(ref: ArtifactRef): Promise<Readable> {
    const path = this.pathOf(ref);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (err) {
      if (isNotFound(err)) throw new ArtifactNotFoundError(ref.uri, { cause: err });
      throw err;
    }
    if (size !== ref.sizeBytes) {
      throw new IntegrityError(ref.uri, ref.sha256, 'unknown', `size on disk ${size} != ${ref.sizeBytes}`);
    }
    const src = createReadStream(path, { highWaterMark: 1 << 20 });
    const verify = verifyingTransform(ref);
    src.on('error', (err) => verify.destroy(err));
    return src.pipe(verify);
  }

  async exists(ref: ArtifactRef): Promise<boolean> {
    try {
      const s = await stat(this.pathOf(ref));
      return s.isFile() && s.size === ref.sizeBytes;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async delete(ref: ArtifactRef): Promise<boolean> {
    const path = this.pathOf(ref);
    const rel = relative(this.root, path);
    if (rel.startsWith('..') || isAbsolute(rel) || rel === '' || rel.startsWith(`.tmp${sep}`)) {
      throw new InvalidArtifactRefError(`refusing to delete ${ref.uri}: outside store root ${this.location}`);
    }
    try {
      await unlink(path);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async close(): Promise<void> {
    // nothing held open
  }

  /** Local path of a file:// ref (refs outside the root can be read, not deleted). */
  pathOf(ref: ArtifactRef): string {
    return filePathFromUri(ref.uri);
  }
}

export function filePathFromUri(uri: string): string {
  if (!uri.startsWith('file://')) throw new InvalidArtifactRefError(`not a file:// URI: ${uri}`);
  try {
    return fileURLToPath(uri);
  } catch (err) {
    throw new InvalidArtifactRefError(`malformed file URI ${uri}: ${(err as Error).message}`);
  }
}

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === 'ENOENT';
}
