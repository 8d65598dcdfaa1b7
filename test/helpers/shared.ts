/** Paths into ../shared (models, data, goldens). Tests only: the product never reads ../shared. */
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, '..', '..');
/**
 * The shared corpus: $MODELOPT_SHARED, else ../shared beside the checkout, else /work/shared (where
 * this workplace keeps it, for clones made elsewhere, e.g. by CI).
 */
export const SHARED = resolveShared();

function resolveShared(): string {
  if (process.env.MODELOPT_SHARED) return process.env.MODELOPT_SHARED;
  const candidates = [path.resolve(REPO_ROOT, '..', 'shared'), '/work/shared'];
  return candidates.find((c) => fs.existsSync(path.join(c, 'models'))) ?? candidates[0]!;
}
export const MODELS_DIR = path.join(SHARED, 'models');
export const DATA_DIR = path.join(SHARED, 'data');
export const GOLDENS_DIR = path.join(SHARED, 'goldens');

export function sharedModels(): string[] {
  if (!fs.existsSync(MODELS_DIR)) throw new Error(`shared models not found at ${MODELS_DIR} (set MODELOPT_SHARED)`);
  return fs
    .readdirSync(MODELS_DIR)
    .filter((f) => f.endsWith('.onnx'))
    .sort()
    .map((f) => path.join(MODELS_DIR, f));
}

export function modelPath(name: string): string {
  return path.join(MODELS_DIR, `${name}.onnx`);
}

export function dataPath(name: string, split: 'calib' | 'eval'): string {
  return path.join(DATA_DIR, `${name}.${split}.npz`);
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(fs.realpathSync((process.env.TMPDIR ?? '/tmp')), `${prefix}-`));
}
