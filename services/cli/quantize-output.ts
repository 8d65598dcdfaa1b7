/** Human-readable summary of a quantize job on stdout. */
import type { QuantizeArgs } from './quantize-args.js';
import type { QuantizeJobResult } from './quantize-job.js';
import { reportPathFor } from './job-report.js';
import type { LatencyComparison, LatencyRun } from '../core/report/index.js';

export function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
}

export function printQuantizeResult(r: QuantizeJobResult, args: QuantizeArgs, latency?: LatencyComparison): void {
  const out: string[] = [];
  const s = r.exported.summary;
  out.push(`\nwrote ${r.outputPath}${args.options.useExternalDataFormat ? ` (+ ${r.outputPath}_data)` : ''}`);
  if (args.report) out.push(`report ${reportPathFor(r.outputPath)}`);
  if (s) {
    out.push(`quantized ${s.quantizedNodes} of ${s.totalNodes} nodes (opset ${s.opset}, IR ${s.irVersion})`);
    if (s.quantizedByOpType.length) out.push(`  ${s.quantizedByOpType.map((o) => `${o.opType}: ${o.count}`).join(', ')}`);
  }
  if (r.exported.checker) out.push(`checker: ${r.exported.checker.passed ? 'passed' : `FAILED\n  ${r.exported.checker.messages.join('\n  ')}`}`);
  if (args.options.verbose) {
    out.push('\nanalyzer decisions:');
    out.push(formatTable([['node', 'op', 'quantized', 'rule', 'reason'], ...r.analysis.decisions.map((d) => [d.node, d.opType, d.quantized ? 'yes' : 'no', d.rule, d.reason])]));
  }
  if (r.comparison.length) {
    out.push('\naccuracy (original vs quantized):');
    out.push(
      formatTable([
        ['output', 'cosine', 'snr_db', 'max_abs_err', 'top1_agree'],
        ...r.comparison.map((c) => [c.output, c.cosine.toFixed(5), c.snrDb.toFixed(2), c.maxAbsError.toPrecision(4), c.top1Agreement === undefined ? '-' : `${(c.top1Agreement * 100).toFixed(1)}%`]),
      ]),
    );
  }
  if (latency) out.push(`\n${formatLatency(latency)}`);
  out.push(`\ntime: ${Object.entries(r.timingsMs).map(([k, v]) => `${k} ${((v ?? 0) / 1000).toFixed(2)}s`).join(', ')}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

export function formatLatency(l: LatencyComparison): string {
  const row = (name: string, r: LatencyRun): string[] => [name, ...[r.latencyMs.min, r.latencyMs.median, r.latencyMs.mean, r.latencyMs.p90, r.latencyMs.p99, r.latencyMs.max].map((v) => v.toFixed(3)), r.throughput.toFixed(1)];
  const lines = ['latency (ms):', formatTable([['model', 'min', 'median', 'mean', 'p90', 'p99', 'max', 'inf/s'], row('original', l.original), row('quantized', l.quantized)])];
  lines.push(`speed-up (mean): ${(l.original.latencyMs.mean / l.quantized.latencyMs.mean).toFixed(2)}x`);
  for (const [name, r] of [['original', l.original], ['quantized', l.quantized]] as const) {
    lines.push(`\nslowest layers, ${name}:`);
    lines.push(formatTable([['node', 'op', 'ms', 'share'], ...r.layers.slice(0, 10).map((x) => [x.name, x.opType, x.meanMs.toFixed(4), `${(x.share * 100).toFixed(1)}%`])]));
  }
  return lines.join('\n');
}
