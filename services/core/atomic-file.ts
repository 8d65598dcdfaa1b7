import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/** A temp path in the same directory as `target`, so that rename is atomic. */
export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
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

export function writeFileAtomicSync(target: string, data: Uint8Array): void {
  writeFilesAtomic([{ path: target, chunks: [data] }]);
}
