/**
 * Merging the statistics of shards (Calibrate over disjoint step ranges) into one.
 *  - min/max/counts: exact;
 *  - histograms with the same layout (the global-range mode with shared `globalRanges`): exact
 *    (counts add);
 *  - histograms with different layouts (streaming mode, or global mode without shared ranges): the
 *    other shard's counts are placed at its bin centres in the widened layout (ORT's merge rule for
 *    value histograms), which is within a bin of the unsharded result.
 */
import { InvalidArgument } from '../core/errors.js';
import type { CalibrationTable } from '../core/quant-types.js';
import { mergeMinMax } from './collectors/minmax.js';
import { ortAbsMerge, ortMerge } from './collectors/ort-histogram.js';
import { torchMerge } from './collectors/torch-histogram.js';
import { calibratorKernels, type CalibratorKernels } from './kernels.js';
import { computeTable } from './methods.js';
import type { CalibrationStatistics, TensorStatistics } from './statistics.js';

function sameOptions(a: CalibrationStatistics, b: CalibrationStatistics): boolean {
  return JSON.stringify(a.options) === JSON.stringify(b.options);
}

export async function mergeStatistics(shards: readonly CalibrationStatistics[], kernels: CalibratorKernels = calibratorKernels().kernels): Promise<CalibrationStatistics> {
  if (shards.length === 0) throw new InvalidArgument('no shards to merge');
  const first = shards[0];
  for (const s of shards) {
    if (s.method !== first.method) throw new InvalidArgument(`shards mix methods (${first.method} and ${s.method})`);
    if (!sameOptions(s, first)) throw new InvalidArgument('shards were collected with different histogram options');
    if (s.totalSteps !== first.totalSteps) throw new InvalidArgument(`shards come from data sets of different sizes (${first.totalSteps} and ${s.totalSteps} steps)`);
    if (s.phase !== first.phase) throw new InvalidArgument('shards mix range-only and complete statistics');
    const names = Object.keys(s.tensors).sort().join('\n');
    if (names !== Object.keys(first.tensors).sort().join('\n')) throw new InvalidArgument('shards calibrate different tensors');
  }
  const sorted = [...shards].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].start < sorted[i - 1].end) {
      throw new InvalidArgument(`shards overlap: [${sorted[i - 1].start}, ${sorted[i - 1].end}) and [${sorted[i].start}, ${sorted[i].end})`);
    }
  }
  const contiguous = sorted.every((s, i) => i === 0 || s.start === sorted[i - 1].end);
  const tensors: Record<string, TensorStatistics> = {};
  for (const name of Object.keys(first.tensors)) {
    const parts = sorted.map((s) => s.tensors[name]);
    const acc: TensorStatistics = { ...parts[0], warnings: [...parts[0].warnings] };
    for (const p of parts.slice(1)) {
      mergeMinMax(acc, p);
      if (p.absMin !== undefined) acc.absMin = acc.absMin === undefined ? p.absMin : Math.min(acc.absMin, p.absMin);
      if (acc.ort && p.ort) acc.ort = await ortMerge(acc.ort, p.ort, kernels);
      else if (p.ort) acc.ort = p.ort;
      if (acc.ortAbs && p.ortAbs) acc.ortAbs = ortAbsMerge(acc.ortAbs, p.ortAbs);
      else if (p.ortAbs) acc.ortAbs = p.ortAbs;
      if (acc.torch !== undefined || p.torch !== undefined) acc.torch = torchMerge(acc.torch, p.torch);
      for (const w of p.warnings) if (!acc.warnings.includes(w)) acc.warnings.push(w);
    }
    // the merged warnings about counts are recomputed from the merged counts
    acc.warnings = acc.warnings.filter((w) => !/value\(s\) of \d+ were counted/.test(w));
    if (acc.nanCount > 0 || acc.infCount > 0) {
      acc.warnings.unshift(`${acc.nanCount} NaN and ${acc.infCount} ±Inf value(s) of ${acc.count} were counted and left out of min/max and the histogram`);
    }
    tensors[name] = acc;
  }
  const notes = [...new Set(sorted.flatMap((s) => s.notes))];
  if (!contiguous) notes.push('merged shards do not cover a contiguous step range');
  return {
    method: first.method,
    options: first.options,
    start: sorted[0].start,
    end: sorted[sorted.length - 1].end,
    totalSteps: first.totalSteps,
    samples: sorted.reduce((a, s) => a + s.samples, 0),
    tensors,
    notes,
    phase: first.phase,
  };
}

/** Merges shards and chooses the ranges. */
export async function mergeToTable(shards: readonly CalibrationStatistics[], kernels: CalibratorKernels = calibratorKernels().kernels): Promise<CalibrationTable> {
  const merged = await mergeStatistics(shards, kernels);
  if (merged.phase !== 'complete') throw new InvalidArgument('range-only statistics have no thresholds yet; run the histogram pass with globalRanges');
  return computeTable(merged, kernels);
}
