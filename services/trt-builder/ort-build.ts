/**
 * Runtime ORT "engine": the model as onnxruntime-node optimises it for the CPU execution provider
 * (graphOptimizationLevel 'all', written through optimizedModelFilePath), with the SHA-256 header.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { InvalidArgument } from '../core/errors.js';
import { addEngineHeader, engineHeader } from './engine-header.js';

export interface OrtOptimizeResult {
  /** The optimised model (no header). */
  optimized: Uint8Array;
  log: string[];
}

/** Optimises an ONNX model with onnxruntime-node; bad models → InvalidArgument. Leaves no temp files. */
export async function optimizeWithOrt(onnx: Uint8Array): Promise<OrtOptimizeResult> {
  if (onnx.length === 0) throw new InvalidArgument('onnx: empty model bytes');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ort-build-'));
  const out = path.join(dir, 'optimized.onnx');
  const t0 = performance.now();
  try {
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(onnx, {
        executionProviders: ['cpu'],
        graphOptimizationLevel: 'all',
        optimizedModelFilePath: out,
        logSeverityLevel: 4,
      });
    } catch (err) {
      throw new InvalidArgument(`onnx: onnxruntime cannot load the model: ${(err as Error).message}`);
    }
    await session.release();
    if (!fs.existsSync(out)) {
      throw new InvalidArgument('onnx: onnxruntime wrote no optimised model (models with external data are not supported by runtime ORT)');
    }
    const optimized = new Uint8Array(fs.readFileSync(out));
    const ms = performance.now() - t0;
    return {
      optimized,
      log: [
        `onnxruntime-node ${ort.env.versions.node ?? ort.env.versions.common}: graphOptimizationLevel=all, CPUExecutionProvider`,
        `input ${onnx.length} bytes → optimised ${optimized.length} bytes in ${ms.toFixed(1)} ms`,
      ],
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface OrtEngine {
  /** header ‖ optimised model. */
  engine: Uint8Array;
  sha256: string;
  log: string[];
}

export async function buildOrtEngine(onnx: Uint8Array): Promise<OrtEngine> {
  const { optimized, log } = await optimizeWithOrt(onnx);
  const engine = addEngineHeader(optimized);
  return { engine, sha256: Buffer.from(engine.subarray(0, 32)).toString('hex'), log };
}

/** For tests and callers that already hold the bare optimised bytes. */
export function ortEngineSha256(optimized: Uint8Array): string {
  return Buffer.from(engineHeader(optimized)).toString('hex');
}
