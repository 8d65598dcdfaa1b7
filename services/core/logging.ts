/**
 * Structured JSON logging (pino). One root logger per process; child loggers per service / call.
 * Logs go to stderr by default so that stdout stays free for command output (ports, reports).
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface LoggerOptions {
  /** Component name, e.g. "calibrator"; becomes the `name` field of every line. */
  name: string;
  level?: LevelWithSilent;
  /** File descriptor to write to: 1 (stdout) or 2 (stderr, default). */
  fd?: 1 | 2;
}

export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      name: opts.name,
      level: opts.level ?? 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ dest: opts.fd ?? 2, sync: true }),
  );
}

/** A logger that drops everything (tests, library callers that want silence). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
