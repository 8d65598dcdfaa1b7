/**
 * `modelopt quantize`: the reference command line, run through the six services over gRPC.
 * With no --endpoint the services start inside this process on free ports (embedded mode, file
 * store in a temporary folder, in-memory bus or NATS with --nats); with --endpoint they are a
 * running mesh and artifacts travel through the ArtifactService.
 *
 * `modelopt report` is the same job with profiling on: the HTML report then also compares the
 * latency of the original and the quantized model and lists the slowest layers.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from './command.js';
import { withMesh } from './mesh-session.js';
import { parseQuantizeArgs, quantizeUsage, type QuantizeArgs } from './quantize-args.js';
import { runQuantizeJob, type QuantizeJobResult } from './quantize-job.js';
import { createProgressView } from './progress-bar.js';
import { printQuantizeResult } from './quantize-output.js';
import { writeJobReport } from './job-report.js';
import { buildAndProfile, toLatencyRun } from './profile-job.js';
import type { LatencyComparison } from '../core/report/index.js';

export interface QuantizeRun {
  result: QuantizeJobResult;
  latency?: LatencyComparison;
  reportPath?: string;
}

export const quantizeCommand: Command = {
  summary: 'quantize an ONNX model (INT8, FP8, INT4) through the services',
  usage: quantizeUsage(),
  async run(argv) {
    const args = parseQuantizeArgs(argv);
    return printRun(args, await quantizeRun(args));
  },
};

export const reportCommand: Command = {
  summary: 'quantize, compare and profile a model, and write the HTML report',
  usage: quantizeUsage().replace('modelopt quantize', 'modelopt report'),
  async run(argv) {
    const args = { ...parseQuantizeArgs(argv), report: true, profile: true };
    return printRun(args, await quantizeRun(args));
  },
};

function printRun(args: QuantizeArgs, run: QuantizeRun): number {
  if (args.json) process.stdout.write(`${JSON.stringify({ ...run.result, latency: run.latency, report: run.reportPath }, null, 2)}\n`);
  else printQuantizeResult(run.result, args, run.latency);
  return 0;
}

/** The whole job, returning the domain result (used by the CLI and the end-to-end tests). */
export async function quantizeWithMesh(args: QuantizeArgs): Promise<QuantizeJobResult> {
  return (await quantizeRun(args)).result;
}

export async function quantizeRun(args: QuantizeArgs): Promise<QuantizeRun> {
  fs.mkdirSync(path.dirname(args.outputPath), { recursive: true });
  const view = createProgressView(!args.json);
  try {
    return await withMesh(args, async ({ mesh, local, bus }) => {
      const result = await runQuantizeJob({
        args,
        mesh,
        localServices: local,
        bus,
        onProgress: (p) => view.update(p),
        onWarning: (w) => process.stderr.write(`\nWARNING: ${w}\n`),
      });
      let latency: LatencyComparison | undefined;
      if (args.profile) {
        const original = await buildAndProfile(mesh, result.modelRef);
        const quantized = await buildAndProfile(mesh, result.quantize.quantizedModel!);
        latency = { original: toLatencyRun(original.profile), quantized: toLatencyRun(quantized.profile) };
      }
      view.stop();
      const reportPath = args.report ? await writeJobReport(result, args, latency) : undefined;
      return { result, latency, reportPath };
    });
  } finally {
    view.stop();
  }
}
