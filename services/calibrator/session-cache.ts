/**
 * Built sessions kept between jobs of a long-lived calibrator. A worker that calibrates shard after
 * shard of one model (a sharded cluster run, or the same job resubmitted) builds the same session every
 * time: onnxruntime's build of the model and its ~300 reduction nodes, the analyses that decide them
 * (ReducingSession.create), and the arena's first touch. Handing the session back after a job lets the next
 * job with the same model, tensors, options and feed dims start at its first run.
 *
 * A session serves one job at a time: `take` removes it from the cache, `give` puts it back. Concurrent jobs
 * with the same key build their own; the one handed back last is kept. At most `maxIdle` sessions are kept,
 * the least recently handed back are released first (each holds its arena: ~10 MB for ppocr_cls at 8 samples
 * per run, a few hundred MB for large models).
 */
import { createHash } from 'node:crypto';
import { InvalidArgument } from '../core/errors.js';
import type { CaptureSession, ReducingSession } from './capture-session.js';

export interface Releasable {
  release(): Promise<void>;
}

export class SessionCache<S extends Releasable> {
  private readonly idle = new Map<string, S>();
  hits = 0;
  misses = 0;

  constructor(readonly maxIdle: number) {
    if (!(Number.isInteger(maxIdle) && maxIdle >= 0)) throw new RangeError(`maxIdle must be a non-negative integer, got ${maxIdle}`);
  }

  /** The idle session for `key`, taken out of the cache for one job, or undefined (counted as a miss). */
  take(key: string): S | undefined {
    const s = this.idle.get(key);
    if (s === undefined) {
      this.misses++;
      return undefined;
    }
    this.idle.delete(key);
    this.hits++;
    return s;
  }

  /** Hands a session back after a job that went well; what goes past maxIdle is released, oldest first. */
  async give(key: string, session: S): Promise<void> {
    const old = this.idle.get(key);
    this.idle.delete(key);
    this.idle.set(key, session);
    const evicted: S[] = old && old !== session ? [old] : [];
    for (const [k, s] of this.idle) {
      if (this.idle.size <= this.maxIdle) break;
      this.idle.delete(k);
      evicted.push(s);
    }
    await Promise.all(evicted.map((s) => s.release()));
  }

  /** Sessions held now. */
  get size(): number {
    return this.idle.size;
  }

  /** Releases every idle session. */
  async clear(): Promise<void> {
    const all = [...this.idle.values()];
    this.idle.clear();
    await Promise.all(all.map((s) => s.release()));
  }
}

/** A key from the parts that decide a session: JSON of them, hashed (tensor lists run to thousands of names). */
export function sessionKey(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/** The sessions a calibration job builds: the min/max pass's, and the capture session of histogram passes. */
export type CalibrationSession = ReducingSession | CaptureSession;

/** Sessions kept in a calibrator process: MODELOPT_CALIBRATION_SESSIONS of them (default 2; 0 keeps none). */
let processSessions: SessionCache<CalibrationSession> | undefined;
export function calibrationSessions(): SessionCache<CalibrationSession> {
  if (!processSessions) {
    const raw = process.env.MODELOPT_CALIBRATION_SESSIONS ?? '2';
    if (!/^\d+$/.test(raw)) throw new InvalidArgument(`MODELOPT_CALIBRATION_SESSIONS: expected a count of sessions, got "${raw}"`);
    processSessions = new SessionCache<CalibrationSession>(Number(raw));
  }
  return processSessions;
}
