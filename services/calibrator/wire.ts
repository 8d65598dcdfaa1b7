/**
 * Conversions between the calibrator's domain shapes and modelopt.v1 calibrator messages.
 */
import {
  HistogramKind,
  HistogramRange,
  type CalibrationOptions as PbOptions,
  type CalibrationTable as PbTable,
  type GlobalRange as PbGlobalRange,
  type ShardStatistics as PbShard,
  type TensorStatistics as PbTensorStats,
} from '../../gen/modelopt/v1/calibrator.js';
import { calibrationTableToProto, methodFromProto, methodToProto } from '../core/grpc/convert.js';
import { InvalidArgument } from '../core/errors.js';
import type { CalibrationTable } from '../core/quant-types.js';
import { defaultHistogramOptions, type CalibrationStatistics, type GlobalRange, type HistogramOptions, type TensorStatistics } from './statistics.js';

export function tableToProto(t: CalibrationTable): PbTable {
  const pb = calibrationTableToProto(t);
  for (const r of pb.ranges) r.warnings = t.ranges[r.tensor]?.warnings ?? [];
  pb.notes = t.notes ?? [];
  return pb;
}

export function histogramOptionsFromProto(o: PbOptions | undefined): Partial<HistogramOptions> {
  const out: Partial<HistogramOptions> = {};
  if (o?.numBins) out.numBins = o.numBins;
  if (o?.numQuantizedBins) out.numQuantizedBins = o.numQuantizedBins;
  if (o?.percentile) out.percentile = o.percentile;
  if (o?.skipZeros) out.skipZeros = true;
  return out;
}

export function histogramRangeFromProto(o: PbOptions | undefined): 'global' | 'streaming' | undefined {
  switch (o?.histogramRange) {
    case HistogramRange.HISTOGRAM_RANGE_GLOBAL:
      return 'global';
    case HistogramRange.HISTOGRAM_RANGE_STREAMING:
      return 'streaming';
    default:
      return undefined;
  }
}

function optionsToProto(o: HistogramOptions): PbOptions {
  return {
    numBins: o.numBins,
    numQuantizedBins: o.numQuantizedBins,
    percentile: o.percentile,
    symmetric: true,
    skipZeros: o.skipZeros,
    histogramRange: HistogramRange.HISTOGRAM_RANGE_UNSPECIFIED,
    alwaysCollectHistograms: false,
  };
}

function tensorStatsToProto(s: TensorStatistics): PbTensorStats {
  const h = s.ort ?? s.ortAbs ?? s.torch ?? undefined;
  return {
    tensor: s.tensor,
    min: s.min,
    max: s.max,
    histogram: h ? { counts: Array.from(h.hist), edges: Array.from(h.edges) } : undefined,
    count: s.count,
    nanCount: s.nanCount,
    infCount: s.infCount,
    histogramKind: s.ort ? HistogramKind.HISTOGRAM_KIND_ORT_VALUE : s.ortAbs ? HistogramKind.HISTOGRAM_KIND_ORT_ABSOLUTE : s.torch ? HistogramKind.HISTOGRAM_KIND_TORCH : HistogramKind.HISTOGRAM_KIND_UNSPECIFIED,
    threshold: s.ort?.threshold ?? 0,
    histogramMin: s.ort?.min ?? s.ortAbs?.min ?? 0,
    histogramMax: s.ort?.max ?? s.ortAbs?.max ?? 0,
    absMin: s.absMin,
    seen: s.seen,
    warnings: s.warnings,
  };
}

function tensorStatsFromProto(p: PbTensorStats): TensorStatistics {
  const s: TensorStatistics = {
    tensor: p.tensor,
    count: p.count,
    nanCount: p.nanCount,
    infCount: p.infCount,
    min: p.min,
    max: p.max,
    seen: p.seen,
    warnings: [...p.warnings],
  };
  if (p.absMin !== undefined) s.absMin = p.absMin;
  const h = p.histogram;
  if (h) {
    if (h.edges.length !== h.counts.length + 1) throw new InvalidArgument(`statistics of ${p.tensor}: histogram needs counts + 1 edges`);
    const hist = Float64Array.from(h.counts);
    const edges = Float32Array.from(h.edges);
    switch (p.histogramKind) {
      case HistogramKind.HISTOGRAM_KIND_ORT_VALUE:
        s.ort = { hist, edges, min: p.histogramMin, max: p.histogramMax, threshold: p.threshold };
        break;
      case HistogramKind.HISTOGRAM_KIND_ORT_ABSOLUTE:
        s.ortAbs = { hist, edges, min: p.histogramMin, max: p.histogramMax };
        break;
      case HistogramKind.HISTOGRAM_KIND_TORCH:
        s.torch = { hist, edges };
        break;
      default:
        throw new InvalidArgument(`statistics of ${p.tensor}: histogram without a histogram_kind`);
    }
  }
  return s;
}

export function statisticsToProto(s: CalibrationStatistics): PbShard {
  return {
    method: methodToProto(s.method),
    options: optionsToProto(s.options),
    tensors: Object.values(s.tensors).map(tensorStatsToProto),
    shardStart: s.start,
    shardEnd: s.end,
    numBatches: s.totalSteps,
    samples: s.samples,
    notes: s.notes,
    rangesOnly: s.phase === 'ranges',
  };
}

export function statisticsFromProto(p: PbShard): CalibrationStatistics {
  const method = methodFromProto(p.method);
  const options: HistogramOptions = { ...defaultHistogramOptions(method), ...histogramOptionsFromProto(p.options) };
  return {
    method,
    options,
    start: p.shardStart,
    end: p.shardEnd,
    totalSteps: p.numBatches,
    samples: p.samples,
    tensors: Object.fromEntries(p.tensors.map((t) => [t.tensor, tensorStatsFromProto(t)])),
    notes: [...p.notes],
    phase: p.rangesOnly ? 'ranges' : 'complete',
  };
}

export function globalRangesFromProto(list: PbGlobalRange[]): Record<string, GlobalRange> | undefined {
  if (!list.length) return undefined;
  return Object.fromEntries(list.map((g) => [g.tensor, { min: g.min, max: g.max, ...(g.absMin !== undefined ? { absMin: g.absMin } : {}) }]));
}
