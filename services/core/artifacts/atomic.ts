import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { open, rename, unlink, mkdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export type AtomicSource = Uint8Array | string | AsyncIterable<Uint8Array | string>;

export interface AtomicWriteOptions {
  /** file mode for the new file (default 0o644) */
  mode?: number;
  /** create the parent directory if missing (default true) */
  mkdirs?: boolean;
  /** called with every chunk as it is written (e.g. to hash it) */
  onChunk?: (chunk: Uint8Array) => void;
}

/** Temp path next to `target`, so rename stays on one filesystem. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Write `data` to `path` atomically: temp file in the same directory, fsync, rename over
 * the target, fsync the directory. On any failure the temp file is removed and `path` is
 * left as it was (absent, or with its previous content). Returns the number of bytes written.
 */
export async function writeFileAtomic(path: string, data: AtomicSource, options: AtomicWriteOptions = {}): Promise<number> {
  if (options.mkdirs !== false) await mkdir(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  const fh = await open(tmp, 'wx', options.mode ?? 0o644);
  let written = 0;
  let closed = false;
  try {
    const writeChunk = async (chunk: Uint8Array | string): Promise<void> => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      options.onChunk?.(buf);
      let off = 0;
      while (off < buf.length) {
        const { bytesWritten } = await fh.write(buf, off, buf.length - off);
        off += bytesWritten;
      }
      written += buf.length;
    };
    if (typeof data === 'string' || data instanceof Uint8Array) {
      await writeChunk(data);
    } else {
      for await (const chunk of data) await writeChunk(chunk);
    }
    await fh.sync();
    await fh.close();
    closed = true;
    await rename(tmp, path);
  } catch (err) {
    if (!closed) await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fsyncDir(dirname(path));
  return written;
}

/** Best-effort directory fsync so the rename itself is durable. */
export async function fsyncDir(dir: string): Promise<void> {
  try {
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch {
    // some filesystems refuse fsync on directories; the rename is still atomic
  }
}

/**
 * Writes several files so that either all of them appear under their final names or none does:
 * each goes to a temp file first (fsync'd), then all are renamed. On failure temp files are removed.
 */
export function writeFilesAtomic(files: Array<{ path: string; chunks: Iterable<Uint8Array> }>): void {
  const temps: Array<{ tmp: string; final: string }> = [];
  try {
    for (const f of files) {
      const tmp = tempPathFor(f.path);
      temps.push({ tmp, final: f.path });
      const fd = fs.openSync(tmp, 'w');
      try {
        for (const chunk of f.chunks) {
          let off = 0;
          while (off < chunk.length) off += fs.writeSync(fd, chunk, off, chunk.length - off);
        }
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    for (const t of temps) fs.renameSync(t.tmp, t.final);
  } catch (err) {
    for (const t of temps) fs.rmSync(t.tmp, { force: true });
    throw err;
  }
}
