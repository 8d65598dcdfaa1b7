/**
 * `modelopt analyze <model.onnx>`: runs Prepare and Analyze on the graph-analyzer service (started in this
 * process, or at --endpoint) and prints every node's decision as a table: node, op type, quantized, rule, reason.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from './command.js';
import { parseFlags, flagHelp, type FlagSpec } from './args.js';
import { InvalidArgument } from '../core/errors.js';
import { callUnary } from '../core/grpc/client.js';
import { withMesh } from './mesh-session.js';
import { QuantizeConfig, quantizeModeFromJSON } from '../../gen/modelopt/v1/common.js';
import type { AnalyzeResponse } from '../../gen/modelopt/v1/graph_analyzer.js';

const FLAGS: FlagSpec[] = [
  { name: 'quantize_mode', kind: 'string', help: 'int8 (default), fp8, int4_rtn, int4_rtn_dq, int4_rtn_trt, int4_rtn_trt_dq, int4_awq_clip, int4_awq_clip_trt' },
  { name: 'op_types_to_quantize', kind: 'string', help: 'comma-separated op types (default: the mode\'s types)' },
  { name: 'op_types_to_exclude', kind: 'string', help: 'comma-separated op types' },
  { name: 'nodes_to_quantize', kind: 'string', help: 'comma-separated regular expressions matched at the start of node names' },
  { name: 'nodes_to_exclude', kind: 'string', help: 'comma-separated regular expressions matched at the start of node names' },
  { name: 'quantized_only', kind: 'bool', help: 'print only the nodes that are quantized' },
  { name: 'json', kind: 'bool', help: 'print the full AnalyzeResponse as JSON' },
  { name: 'endpoint', kind: 'string', help: 'host:port of a running mesh (graph-analyzer port); default: start the analyzer in this process' },
];

const USAGE = `usage: modelopt analyze <model.onnx> [options]\n\n${flagHelp(FLAGS)}`;

const list = (v: unknown): string[] => (typeof v === 'string' && v ? v.split(',').map((s) => s.trim()).filter(Boolean) : []);

export const analyzeCommand: Command = {
  summary: 'show which nodes the analyzer quantizes and why (rule per node)',
  usage: USAGE,
  async run(argv) {
    const { values, positional } = parseFlags(argv, FLAGS);
    if (positional.length !== 1) throw new InvalidArgument('expected exactly one model path');
    const model = path.resolve(positional[0]!);
    if (!fs.existsSync(model)) throw new InvalidArgument(`model file ${model} not found`);
    const modeName = String(values.quantize_mode ?? 'int8');
    let mode = -1;
    try {
      mode = quantizeModeFromJSON(`QUANTIZE_MODE_${modeName.toUpperCase()}`);
    } catch {
      mode = -1;
    }
    if (mode <= 0) throw new InvalidArgument(`unknown --quantize_mode "${modeName}"`);
    const config = QuantizeConfig.fromPartial({
      quantizeMode: mode,
      opTypesToQuantize: list(values.op_types_to_quantize),
      opTypesToExclude: list(values.op_types_to_exclude),
      nodesToQuantize: list(values.nodes_to_quantize),
      nodesToExclude: list(values.nodes_to_exclude),
    });
    const r = await analyzeWithService(model, config, typeof values.endpoint === 'string' ? values.endpoint : undefined);
    if (values.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    else process.stdout.write(formatDecisions(r, values.quantized_only === true));
    return 0;
  },
};

export async function analyzeWithService(model: string, config: QuantizeConfig, endpoint?: string): Promise<AnalyzeResponse> {
  return withMesh({ endpoint }, async ({ mesh }) => {
    const ref = await mesh.upload(model, 'application/x-onnx');
    const prepared = await callUnary(mesh.analyzer, mesh.analyzer.prepare, { model: ref, config, modelName: path.basename(model).replace(/\.(onnx|pb)$/, '') });
    return callUnary(mesh.analyzer, mesh.analyzer.analyze, { model: prepared.preparedModel, config });
  });
}

/** The decision table plus a summary line. */
export function formatDecisions(r: AnalyzeResponse, quantizedOnly: boolean): string {
  const rows = r.decisions.filter((d) => !quantizedOnly || d.quantized).map((d) => [d.node, d.opType, d.quantized ? 'yes' : 'no', d.rule, d.reason]);
  const head = ['node', 'op type', 'quantized', 'rule', 'reason'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  w[4] = head[4]!.length;
  const line = (cells: string[]): string => cells.map((c, i) => (i < 4 ? c.padEnd(w[i]!) : c)).join('  ').trimEnd();
  const out = [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)];
  out.push('', `${r.selectedNodes.length} of ${r.decisions.length} nodes selected; ${r.noQuantizeEdges.length} no-quantize edges; ${r.tensorsToCalibrate.length} tensors to calibrate; opset ${r.opset}`);
  return `${out.join('\n')}\n`;
}
