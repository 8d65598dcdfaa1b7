import type { LatencyStatsMs } from '../core/report/types.js';

/** Latency statistics in ms (the report's shape); percentiles by linear interpolation between closest ranks (numpy's default). */
export type LatencyStats = LatencyStatsMs;

export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * (q / 100);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function latencyStats(samplesMs: readonly number[]): LatencyStats {
  const s = [...samplesMs].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return {
    min: s[0] ?? NaN,
    max: s[s.length - 1] ?? NaN,
    mean,
    median: percentile(s, 50),
    p90: percentile(s, 90),
    p95: percentile(s, 95),
    p99: percentile(s, 99),
  };
}
