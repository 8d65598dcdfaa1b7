import { jobSubject } from './subjects.js';
import type { EventBus, ProgressInfo } from './types.js';

export interface ProgressReporterOptions {
  /** at most one event per interval (default 250 ms); the first and the final (fraction 1) always go out */
  minIntervalMs?: number;
  source?: string;
  attempt?: number;
  /** injectable clock for tests */
  now?: () => number;
  onError?: (err: unknown) => void;
}

/**
 * Publishes throttled `modelopt.jobs.<jobId>.<stage>.progress` events. Reports that fall
 * inside the interval are coalesced: the latest one is sent when the interval ends
 * (or on flush()).
 */
export class ProgressReporter {
  private lastSentAt = -Infinity;
  private pending: ProgressInfo | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private readonly minIntervalMs: number;
  private readonly now: () => number;
  /** number of events actually published */
  sent = 0;

  constructor(
    private readonly bus: EventBus,
    readonly jobId: string,
    readonly stage: string,
    private readonly opts: ProgressReporterOptions = {},
  ) {
    jobSubject(jobId, stage, 'progress'); // validate once
    this.minIntervalMs = opts.minIntervalMs ?? 250;
    this.now = opts.now ?? Date.now;
  }

  /** fraction is clamped to [0, 1] */
  report(fraction: number, message = '', counts?: { done?: number; total?: number }): void {
    const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
    const info: ProgressInfo = { fraction: f, message, ...counts };
    const t = this.now();
    if (f >= 1 || t - this.lastSentAt >= this.minIntervalMs) {
      this.clearTimer();
      this.pending = undefined;
      this.send(info, t);
      return;
    }
    this.pending = info;
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        const p = this.pending;
        this.pending = undefined;
        if (p) this.send(p, this.now());
      }, Math.max(0, this.minIntervalMs - (t - this.lastSentAt)));
      this.timer.unref();
    }
  }

  private clearTimer(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private send(progress: ProgressInfo, t: number): void {
    this.lastSentAt = t;
    this.sent += 1;
    const event = {
      jobId: this.jobId,
      stage: this.stage,
      kind: 'progress' as const,
      progress,
      timestampMs: Date.now(),
      ...(this.opts.source !== undefined ? { source: this.opts.source } : {}),
      ...(this.opts.attempt !== undefined ? { attempt: this.opts.attempt } : {}),
    };
    this.inFlight = this.inFlight
      .then(() => this.bus.publish(jobSubject(this.jobId, this.stage, 'progress'), event))
      .catch((err: unknown) => (this.opts.onError ?? (() => undefined))(err));
  }

  /** Send a coalesced report now and wait until everything sent so far is published. */
  async flush(): Promise<void> {
    this.clearTimer();
    const p = this.pending;
    this.pending = undefined;
    if (p) this.send(p, this.now());
    await this.inFlight;
  }

  /** Drop any coalesced report and stop the timer. */
  async close(): Promise<void> {
    this.clearTimer();
    this.pending = undefined;
    await this.inFlight;
  }
}
