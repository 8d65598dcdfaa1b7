/**
 * `modelopt profile --onnx_path m.onnx [--quantized_path m.quant.onnx]`: latency percentiles,
 * throughput and the slowest layers, through trt-builder and the profiler.
 */
import fs from 'node:fs';
import { InvalidArgument, NotFound } from '../core/errors.js';
import type { Command } from './command.js';
import { withMesh } from './mesh-session.js';
import { buildAndProfile, toLatencyRun } from './profile-job.js';
import { formatLatency, formatTable } from './quantize-output.js';
import { flagHelp, parseFlags, type FlagSpec } from './args.js';
import type { LatencyRun } from '../core/report/index.js';

const FLAGS: FlagSpec[] = [
  { name: 'onnx_path', kind: 'string', help: 'the model to profile (required)' },
  { name: 'quantized_path', kind: 'string', help: 'a quantized model to compare against' },
  { name: 'layers', kind: 'int', help: 'slowest layers to list (default 15)' },
  { name: 'endpoint', kind: 'string', help: 'address of a running mesh (host:port); default: embedded' },
  { name: 'json', kind: 'bool', help: 'print JSON' },
];

function printRun(name: string, r: LatencyRun): string {
  const l = r.latencyMs;
  return [
    `${name}: mean ${l.mean.toFixed(3)} ms, median ${l.median.toFixed(3)}, p90 ${l.p90.toFixed(3)}, p99 ${l.p99.toFixed(3)}, min ${l.min.toFixed(3)}, max ${l.max.toFixed(3)}; ${r.throughput.toFixed(1)} inf/s over ${r.iterations} runs`,
    formatTable([['node', 'op', 'ms', 'share'], ...r.layers.map((x) => [x.name, x.opType, x.meanMs.toFixed(4), `${(x.share * 100).toFixed(1)}%`])]),
  ].join('\n');
}

export const profileCommand: Command = {
  summary: 'latency and per-layer times of a model (and its quantized version)',
  usage: `usage: modelopt profile --onnx_path m.onnx [--quantized_path m.quant.onnx]\n\n${flagHelp(FLAGS)}`,
  async run(argv) {
    const norm = argv.map((a) => a.replace(/^--onnx-path/, '--onnx_path').replace(/^--quantized-path/, '--quantized_path'));
    const { values } = parseFlags(norm, FLAGS);
    const onnxPath = values['onnx_path'] as string | undefined;
    const quantizedPath = values['quantized_path'] as string | undefined;
    if (!onnxPath) throw new InvalidArgument('--onnx_path is required');
    for (const p of [onnxPath, quantizedPath]) if (p && !fs.existsSync(p)) throw new NotFound(`model file not found: ${p}`);
    const layers = (values['layers'] as number | undefined) ?? 15;
    const runs = await withMesh({ endpoint: values['endpoint'] as string | undefined }, async ({ mesh }) => {
      const original = toLatencyRun((await buildAndProfile(mesh, await mesh.upload(onnxPath, 'application/onnx'))).profile, layers);
      const quantized = quantizedPath ? toLatencyRun((await buildAndProfile(mesh, await mesh.upload(quantizedPath, 'application/onnx'))).profile, layers) : undefined;
      return { original, quantized };
    });
    if (values['json']) process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
    else if (runs.quantized) process.stdout.write(`${formatLatency({ original: runs.original, quantized: runs.quantized })}\n`);
    else process.stdout.write(`${printRun('model', runs.original)}\n`);
    return 0;
  },
};
