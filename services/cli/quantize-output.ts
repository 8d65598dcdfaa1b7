/** Human-readable summary of a quantize job on stdout. */
import type { QuantizeArgs } from './quantize-args.js';
import type { QuantizeJobResult } from './quantize-job.js';
import { reportPathFor } from './job-report.js';

export function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
}

export function printQuantizeResult(r: QuantizeJobResult, args: QuantizeArgs): void {
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
  out.push(`\ntime: ${Object.entries(r.timingsMs).map(([k, v]) => `${k} ${((v ?? 0) / 1000).toFixed(2)}s`).join(', ')}`);
  process.stdout.write(`${out.join('\n')}\n`);
}
