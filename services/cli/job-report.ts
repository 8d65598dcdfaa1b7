/** Builds the HTML job report from a finished quantize job and writes it next to the output model. */
import path from 'node:path';
import { renderJobReport, type JobReport, type LatencyComparison } from '../core/report/index.js';
import { writeFileAtomic } from '../core/artifacts/index.js';
import type { QuantizeArgs } from './quantize-args.js';
import type { QuantizeJobResult } from './quantize-job.js';

/** At most this many histograms in a report (the tensors with the widest ranges first). */
const MAX_HISTOGRAMS = 48;

export function buildJobReport(result: QuantizeJobResult, args: QuantizeArgs, latency?: LatencyComparison): JobReport {
  const histograms = (result.calibration?.ranges ?? [])
    .filter((r) => r.histogram && r.histogram.counts.length > 0 && r.histogram.edges.length === r.histogram.counts.length + 1)
    .sort((a, b) => Math.max(Math.abs(b.min), Math.abs(b.max)) - Math.max(Math.abs(a.min), Math.abs(a.max)))
    .slice(0, MAX_HISTOGRAMS)
    .map((r) => ({
      tensor: r.tensor,
      binEdges: r.histogram!.edges,
      counts: r.histogram!.counts,
      range: { min: r.thresholdLow, max: r.thresholdHigh },
      method: args.options.quantizeMode === 'fp8' ? 'distribution' : args.options.calibrationMethod,
    }));
  const notes = [...result.warnings];
  if (!result.calibration && !args.options.quantizeMode.startsWith('int4')) notes.push('no calibration table');
  const checker = result.exported.checker;
  if (checker && !checker.passed) notes.push(...checker.messages.map((m) => `checker: ${m}`));
  return {
    job: {
      id: result.jobId,
      createdAt: new Date().toISOString(),
      model: { name: path.basename(args.onnxPath), opset: result.exported.summary?.opset, nodes: result.exported.summary?.totalNodes },
      quantizeMode: args.options.quantizeMode,
      calibrationMethod: args.options.quantizeMode === 'fp8' ? 'distribution' : args.options.quantizeMode.startsWith('int4') ? undefined : args.options.calibrationMethod,
      calibrationSamples: result.calibration?.numBatches,
      output: path.basename(result.outputPath),
      stageMs: Object.fromEntries(Object.entries(result.timingsMs).map(([k, v]) => [k, Math.round(v ?? 0)])),
    },
    quantization: result.analysis.decisions.map((d) => ({ node: d.node, opType: d.opType, quantized: d.quantized, rule: d.rule, reason: d.reason })),
    histograms,
    accuracy: result.comparison.length
      ? {
          samples: 0,
          outputs: result.comparison.map((o) => ({ output: o.output, cosine: o.cosine, snrDb: o.snrDb, maxAbsErr: o.maxAbsError, top1Agreement: o.top1Agreement })),
        }
      : undefined,
    latency,
    notes,
  };
}

export function reportPathFor(outputPath: string): string {
  return outputPath.replace(/\.onnx$/, '') + '.report.html';
}

export async function writeJobReport(result: QuantizeJobResult, args: QuantizeArgs, latency?: LatencyComparison): Promise<string> {
  const file = reportPathFor(result.outputPath);
  await writeFileAtomic(file, renderJobReport(buildJobReport(result, args, latency)));
  return file;
}
