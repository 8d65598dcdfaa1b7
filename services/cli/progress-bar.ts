/** One progress bar per job on stderr (a plain line per stage when stderr is not a terminal). */
import cliProgress from 'cli-progress';
import type { JobProgress, Stage } from './quantize-job.js';

const STAGES: Stage[] = ['upload', 'prepare', 'analyze', 'calibrate', 'quantize', 'export', 'compare'];

export interface JobProgressView {
  update(p: JobProgress): void;
  stop(): void;
}

export function createProgressView(enabled: boolean): JobProgressView {
  if (!enabled) return { update: () => undefined, stop: () => undefined };
  if (!process.stderr.isTTY) {
    let last: Stage | undefined;
    return {
      update(p) {
        if (p.stage !== last && p.fraction === 0) {
          last = p.stage;
          process.stderr.write(`[${STAGES.indexOf(p.stage) + 1}/${STAGES.length}] ${p.stage}\n`);
        }
      },
      stop: () => undefined,
    };
  }
  const bar = new cliProgress.SingleBar(
    { format: ' {stage} |{bar}| {percentage}% {message}', hideCursor: true, clearOnComplete: false, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  bar.start(STAGES.length * 100, 0, { stage: 'upload'.padEnd(9), message: '' });
  return {
    update(p) {
      const base = STAGES.indexOf(p.stage) * 100;
      bar.update(base + Math.round(Math.max(0, Math.min(1, p.fraction)) * 100), { stage: p.stage.padEnd(9), message: p.message.slice(0, 40) });
    },
    stop() {
      bar.stop();
    },
  };
}
