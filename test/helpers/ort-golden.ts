/**
 * Reading onnxruntime quantize_static goldens (../shared/goldens/<model>.ort.<method>.json) back to
 * the calibrated tensor behind each activation scale. Tests only.
 *
 * onnxruntime does not always quantize a tensor with its own range:
 *  - adjust_tensor_ranges: the input of a Relu/Clip that is its only consumer takes the Relu/Clip
 *    output's range; Softmax outputs get [0, 1];
 *  - "same as input" ops (Reshape, Transpose, MaxPool, ...) whose input is quantized quantize their
 *    output with their input's parameters.
 * `resolveGoldenScales` follows those rules so that each golden scale is paired with the tensor
 * whose calibrated range produced it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ModelProto } from '../../services/core/onnx/index.js';
import { GOLDENS_DIR } from './shared.js';

export interface GoldenDequantize {
  name: string;
  source: string;
  scale_shape: number[];
  scales: number[];
  axis?: number;
}
export interface OrtGolden {
  model: string;
  calibration_method: string;
  calibration_data: string;
  samples: number;
  dequantize: GoldenDequantize[];
}

export function readOrtGolden(model: string, method: string): OrtGolden | null {
  const p = path.join(GOLDENS_DIR, `${model}.ort.${method}.json`);
  if (!fs.existsSync(p)) return null;
  // onnxruntime wrote non-finite scales as bare Infinity / NaN (not JSON)
  const text = fs.readFileSync(p, 'utf8').replace(/(?<=[\[,:]\s*)(-?Infinity|NaN)(?=\s*[,\]}])/g, '"$1"');
  return JSON.parse(text, (_k, v) => (v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v === 'NaN' ? NaN : v)) as OrtGolden;
}

const SAME_AS_INPUT = new Set([
  'Reshape',
  'Transpose',
  'Squeeze',
  'Unsqueeze',
  'Flatten',
  'Resize',
  'MaxPool',
  'AveragePool',
  'Slice',
  'Pad',
  'Split',
  'Gather',
  'GatherElements',
  'TopK',
]);

export interface ResolvedScale {
  /** the DequantizeLinear's source as written in the golden. */
  source: string;
  /** the tensor whose calibrated range gives the scale. */
  tensor: string;
  scale: number;
}

/** Activation (per-tensor, non-initializer) scales of a golden, paired with the tensor that produced each. */
export function resolveGoldenScales(model: ModelProto, golden: OrtGolden): { resolved: ResolvedScale[]; skipped: string[] } {
  const g = model.graph!;
  const inits = new Set(g.initializer.map((t) => t.name));
  const producer = new Map<string, { opType: string; input: string[]; output: string[] }>();
  const consumers = new Map<string, { opType: string; input: string[]; output: string[] }[]>();
  const constOut = new Set<string>();
  for (const n of g.node) {
    for (const o of n.output) producer.set(o, n);
    if (n.opType === 'Constant') for (const o of n.output) constOut.add(o);
    for (const i of n.input) {
      if (!i) continue;
      const l = consumers.get(i) ?? [];
      l.push(n);
      consumers.set(i, l);
    }
  }
  const graphInputs = new Set(g.input.map((i) => i.name));
  const known = (t: string) => producer.has(t) || graphInputs.has(t);
  const resolved: ResolvedScale[] = [];
  const skipped: string[] = [];
  const quantized = new Set(golden.dequantize.map((d) => d.source.replace(/_QuantizeLinear_Input$/, '')));
  for (const dq of golden.dequantize) {
    if (dq.scale_shape.length !== 0 || dq.scales.length !== 1) continue; // per-channel weights
    let t = dq.source;
    if (!known(t) && t.endsWith('_QuantizeLinear_Input')) t = t.slice(0, -'_QuantizeLinear_Input'.length);
    if (!known(t) && t.endsWith('_quantized')) continue; // a weight
    if (!known(t) || inits.has(t) || constOut.has(t)) {
      skipped.push(`${dq.source} (not an activation of the graph)`);
      continue;
    }
    // same-as-input chains up to the tensor whose parameters are shared
    for (let guard = 0; guard < 1000; guard++) {
      const p = producer.get(t);
      // only when the input is quantized too (QDQDirect8BitOp); otherwise the consumer quantizes the output with its own range
      if (!p || !SAME_AS_INPUT.has(p.opType) || inits.has(p.input[0]) || constOut.has(p.input[0]) || !quantized.has(p.input[0])) break;
      t = p.input[0];
    }
    const p = producer.get(t);
    if (p?.opType === 'Softmax') {
      skipped.push(`${dq.source} (Softmax output: fixed range [0, 1])`);
      continue;
    }
    const cons = consumers.get(t) ?? [];
    if (cons.length === 1 && (cons[0].opType === 'Relu' || cons[0].opType === 'Clip') && cons[0].input[0] === t) {
      t = cons[0].output[0];
    }
    resolved.push({ source: dq.source, tensor: t, scale: dq.scales[0] });
  }
  return { resolved, skipped };
}
