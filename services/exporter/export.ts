/**
 * Writing the final model: checker first (nothing is written when it fails), IR version forced as the
 * reference does (9, or what the opset needs), then an atomic save, inline or with external data
 * (`<name>_data`, forced above 2 GiB).
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgument } from '../core/errors.js';
import { saveModel, defaultOpset, TWO_GIB, allTensors, tensorPayloadBytes, type GraphProto, type ModelProto } from '../core/onnx/index.js';
import { checkModel, type CheckerReport } from './checker.js';
import { summarize, type ModelSummary } from './summary.js';

export interface ExportOptions {
  /** true: external data always; false: inline unless the model exceeds 2 GiB; 'auto' same as false. */
  externalData?: boolean | 'auto';
}

export interface ExportResult {
  /** Files written: the model, then `<name>_data` when external data was used. */
  files: string[];
  external: boolean;
  bytes: number;
  checker: CheckerReport;
  summary: ModelSummary;
}

/** IR 9 as the reference forces, or higher where the opset or a data type (INT4: IR 10) needs it. */
function targetIr(model: ModelProto): number {
  const opset = defaultOpset(model);
  let ir = opset >= 23 ? 11 : opset >= 21 ? 10 : 9;
  for (const t of allTensors(model.graph as GraphProto)) {
    const dt = Number(t.dataType);
    if (dt === 21 || dt === 22) ir = Math.max(ir, 10);
  }
  return ir;
}

export function exportModel(model: ModelProto, outPath: string, opts: ExportOptions = {}): ExportResult {
  if (!outPath.endsWith('.onnx')) throw new InvalidArgument(`output path must end in .onnx: ${outPath}`);
  const dir = path.dirname(path.resolve(outPath));
  if (!fs.existsSync(dir)) throw new InvalidArgument(`output directory ${dir} does not exist`);
  model.irVersion = targetIr(model);
  const checker = checkModel(model);
  if (!checker.passed) {
    throw new InvalidArgument(`model failed the structural check (${checker.errors.length} error(s)): ${checker.errors.slice(0, 5).join('; ')}`);
  }
  let total = 0;
  for (const t of allTensors(model.graph as GraphProto)) total += tensorPayloadBytes(t);
  const external = opts.externalData === true || total > TWO_GIB - 64 * 1024 * 1024;
  // Tensors under 1 KiB stay inline (core/onnx's rule, docs/compatibility.md "core/onnx").
  const r = saveModel(model, outPath, { externalData: external });
  const files = [outPath, ...(r.external ? [path.join(path.dirname(outPath), `${path.basename(outPath)}_data`)] : [])];
  return { files, external: r.external, bytes: r.bytes, checker, summary: summarize(model) };
}
