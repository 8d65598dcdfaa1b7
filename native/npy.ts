/** float32 .npy files for tests and benches, on the project's .npy codec (services/core/npy.ts). */
import { writeFileSync } from 'node:fs';
import { encodeNpy, openNpy, readAll } from '../services/core/npy.js';

export function writeNpyF32(path: string, x: Float32Array, shape: readonly number[] = [x.length]): void {
  writeFileSync(path, encodeNpy('float32', shape, x));
}

export function readNpyF32(path: string): { data: Float32Array; shape: number[] } {
  const src = openNpy(path);
  try {
    if (src.dtype !== 'float32') throw new Error(`${path}: expected float32 data, got ${src.dtype}`);
    return { data: readAll(src) as Float32Array, shape: [...src.shape] };
  } finally {
    src.close?.();
  }
}
