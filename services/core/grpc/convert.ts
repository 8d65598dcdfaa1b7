/**
 * Conversions between the protobuf messages (gen/) and the domain types of services/core/quant-types.ts.
 * Used by the server.ts adapters and by clients; domain code never sees protobuf types.
 */
import { QuantizeMode as PbMode, CalibrationMethod as PbMethod, type QuantizeConfig, type ArtifactRef } from '../../../gen/modelopt/v1/common.js';
import type { AnalyzeResponse } from '../../../gen/modelopt/v1/graph_analyzer.js';
import type { CalibrationTable as PbTable } from '../../../gen/modelopt/v1/calibrator.js';
import { InvalidArgument } from '../errors.js';
import {
  DEFAULT_QUANTIZE_OPTIONS,
  QUANTIZE_MODES,
  CALIBRATION_METHODS,
  type QuantizeMode,
  type CalibrationMethod,
  type QuantizeOptions,
  type AnalysisResult,
  type CalibrationTable,
} from '../quant-types.js';

export function modeToProto(mode: QuantizeMode): PbMode {
  return (QUANTIZE_MODES.indexOf(mode) + 1) as PbMode;
}

export function modeFromProto(mode: PbMode | undefined): QuantizeMode {
  if (!mode) return DEFAULT_QUANTIZE_OPTIONS.quantizeMode;
  const m = QUANTIZE_MODES[(mode as number) - 1];
  if (!m) throw new InvalidArgument(`unknown quantize_mode ${mode}`);
  return m;
}

const METHOD_TO_PB: Record<CalibrationMethod, PbMethod> = {
  minmax: PbMethod.CALIBRATION_METHOD_MINMAX,
  entropy: PbMethod.CALIBRATION_METHOD_ENTROPY,
  percentile: PbMethod.CALIBRATION_METHOD_PERCENTILE,
  distribution: PbMethod.CALIBRATION_METHOD_DISTRIBUTION,
  torch_entropy: PbMethod.CALIBRATION_METHOD_TORCH_ENTROPY,
  torch_mse: PbMethod.CALIBRATION_METHOD_TORCH_MSE,
  torch_percentile: PbMethod.CALIBRATION_METHOD_TORCH_PERCENTILE,
};

export function methodToProto(m: CalibrationMethod): PbMethod {
  return METHOD_TO_PB[m];
}

export function methodFromProto(m: PbMethod | undefined): CalibrationMethod {
  if (!m) return DEFAULT_QUANTIZE_OPTIONS.calibrationMethod;
  const found = CALIBRATION_METHODS.find((k) => METHOD_TO_PB[k] === m);
  if (!found) throw new InvalidArgument(`unknown calibration_method ${m}`);
  return found;
}

export function optionsToProto(o: QuantizeOptions, calibrationData?: ArtifactRef): QuantizeConfig {
  return {
    quantizeMode: modeToProto(o.quantizeMode),
    calibrationMethod: methodToProto(o.calibrationMethod),
    calibrationData,
    opTypesToQuantize: o.opTypesToQuantize,
    opTypesToExclude: o.opTypesToExclude,
    nodesToQuantize: o.nodesToQuantize,
    nodesToExclude: o.nodesToExclude,
    useExternalDataFormat: o.useExternalDataFormat,
    keepIntermediateFiles: o.keepIntermediateFiles,
    outputPath: o.outputPath ?? '',
    verbose: o.verbose,
    int4BlockSize: o.int4BlockSize ?? 0,
  };
}

export function optionsFromProto(c: QuantizeConfig | undefined): QuantizeOptions {
  if (!c) return { ...DEFAULT_QUANTIZE_OPTIONS };
  return {
    quantizeMode: modeFromProto(c.quantizeMode),
    calibrationMethod: methodFromProto(c.calibrationMethod),
    opTypesToQuantize: c.opTypesToQuantize,
    opTypesToExclude: c.opTypesToExclude,
    nodesToQuantize: c.nodesToQuantize,
    nodesToExclude: c.nodesToExclude,
    useExternalDataFormat: c.useExternalDataFormat,
    keepIntermediateFiles: c.keepIntermediateFiles,
    outputPath: c.outputPath || undefined,
    verbose: c.verbose,
    ...(c.int4BlockSize ? { int4BlockSize: c.int4BlockSize } : {}),
  };
}

export function analysisFromProto(a: AnalyzeResponse | undefined): AnalysisResult {
  if (!a) throw new InvalidArgument('no analysis given');
  return {
    quantizableNodes: a.selectedNodes,
    noQuantizeEdges: a.noQuantizeEdges.map((e) => ({ producer: e.producer, consumer: e.consumer, tensor: e.tensor })),
    decisions: a.decisions.map((d) => ({ node: d.node, opType: d.opType, quantized: d.quantized, rule: d.rule, reason: d.reason })),
    tensorsToCalibrate: a.tensorsToCalibrate,
    opTypeCounts: Object.fromEntries(a.opStatistics.map((s) => [s.opType, s.count])),
  };
}

export function calibrationTableFromProto(t: PbTable | undefined): CalibrationTable {
  if (!t) throw new InvalidArgument('no calibration table given');
  const ranges: CalibrationTable['ranges'] = {};
  for (const r of t.ranges) {
    ranges[r.tensor] = {
      tensor: r.tensor,
      min: r.min,
      max: r.max,
      low: r.thresholdLow,
      high: r.thresholdHigh,
      scale: r.scale || undefined,
      nanCount: r.nanCount,
      infCount: r.infCount,
      histogram: r.histogram ? { counts: r.histogram.counts, edges: r.histogram.edges } : undefined,
      warnings: r.warnings.length ? r.warnings : undefined,
    };
  }
  return { method: methodFromProto(t.method), samples: t.numBatches, ranges, notes: t.notes.length ? t.notes : undefined };
}

export function calibrationTableToProto(t: CalibrationTable): PbTable {
  return {
    method: methodToProto(t.method),
    numBatches: t.samples,
    ranges: Object.values(t.ranges).map((r) => ({
      tensor: r.tensor,
      min: r.min,
      max: r.max,
      thresholdLow: r.low,
      thresholdHigh: r.high,
      scale: r.scale ?? 0,
      zeroPoint: 0,
      histogram: r.histogram ? { counts: r.histogram.counts, edges: r.histogram.edges } : undefined,
      nanCount: r.nanCount ?? 0,
      infCount: r.infCount ?? 0,
      warnings: r.warnings ?? [],
    })),
    notes: t.notes ?? [],
  };
}
