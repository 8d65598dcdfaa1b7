/**
 * `modelopt quantize` in every mode through the six services (embedded mesh on loopback gRPC), on
 * ppocr_cls (Conv backbone + one Constant-node MatMul weight) with its calibration and evaluation data.
 * Modes onnxruntime runs on CPU are compared with the original; the TensorRT custom-op modes
 * (TRT_INT4*) are checked structurally only (onnxruntime has no kernels for them).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { quantizeRun, quantizeWithMesh } from '../../services/cli/quantize.js';
import { parseQuantizeArgs } from '../../services/cli/quantize-args.js';
import { loadModel } from '../../services/core/onnx/index.js';
import { dataPath, modelPath, tmpDir } from '../helpers/shared.js';

const out = tmpDir('e2e-modes');
after(() => fs.rmSync(out, { recursive: true, force: true }));

// FP8 E4M3 per-tensor activations cost more accuracy than INT8 on this small classifier (onnxruntime
// emulates FP8 Q/DQ on CPU); INT4 touches one MatMul weight only.
const MODES: Array<{ mode: string; runsOnCpu: boolean; minCosine?: number; extra?: string[]; check?: (file: string) => void }> = [
  { mode: 'fp8', runsOnCpu: true, minCosine: 0.95 },
  { mode: 'int4_rtn', runsOnCpu: true },
  {
    mode: 'int4_rtn_dq',
    runsOnCpu: true,
    extra: ['--int4_block_size', '64'],
    check: (file) => {
      const dq = loadModel(file).graph!.node.filter((n) => n.opType === 'DequantizeLinear' && n.attribute.some((a) => a.name === 'block_size'));
      assert.ok(dq.length > 0, 'a blocked DequantizeLinear');
      for (const n of dq) assert.equal(Number(n.attribute.find((a) => a.name === 'block_size')!.i), 64);
    },
  },
  { mode: 'int4_awq_clip', runsOnCpu: true },
  { mode: 'int4_rtn_trt', runsOnCpu: false },
  { mode: 'int4_rtn_trt_dq', runsOnCpu: false },
  { mode: 'int4_awq_clip_trt', runsOnCpu: false },
];

for (const m of MODES) {
  test(`modelopt quantize --quantize_mode ${m.mode} ppocr_cls: written, structurally valid${m.runsOnCpu ? ', agrees with the original in onnxruntime' : ''}`, { timeout: 5 * 60_000 }, async () => {
    const output = path.join(out, `ppocr_cls.${m.mode}.onnx`);
    const argv = ['--onnx_path', modelPath('ppocr_cls'), '--output_path', output, '--quantize_mode', m.mode, '-c', dataPath('ppocr_cls', 'calib'), '--no_report', ...(m.extra ?? [])];
    if (m.runsOnCpu) argv.push('--eval_data_path', dataPath('ppocr_cls', 'eval'));
    else argv.push('--no_compare');
    const result = await quantizeWithMesh(parseQuantizeArgs(argv, {}));
    assert.ok(fs.existsSync(output), 'output written');
    assert.ok(result.exported.checker?.passed, `checker: ${result.exported.checker?.messages.join('; ')}`);
    assert.ok((result.exported.summary?.quantizedNodes ?? 0) > 0, 'some nodes quantized');
    m.check?.(output);
    if (m.runsOnCpu) {
      assert.ok(result.comparison.length > 0, 'compared on the evaluation data');
      for (const c of result.comparison) {
        console.log(`[e2e ${m.mode}] ppocr_cls ${c.output}: cosine ${c.cosine.toFixed(5)} snr ${c.snrDb.toFixed(1)} dB${c.top1Agreement !== undefined ? ` top1 ${(c.top1Agreement * 100).toFixed(1)}%` : ''}`);
        assert.ok(c.cosine > (m.minCosine ?? 0.99), `${c.output}: cosine ${c.cosine}`);
      }
    }
  });
}

test('modelopt quantize rejects --int4_block_size 0 before starting anything', () => {
  assert.throws(() => parseQuantizeArgs(['--onnx_path', modelPath('ppocr_cls'), '--quantize_mode', 'int4_rtn_dq', '--int4_block_size', '0'], {}), /int4_block_size must be a positive integer/);
});

test('modelopt quantize (default entropy) writes a report with activation histograms: it asks the calibrator to collect them', { timeout: 5 * 60_000 }, async () => {
  const output = path.join(out, 'ppocr_cls.report-check.onnx');
  const run = await quantizeRun(parseQuantizeArgs(['--onnx_path', modelPath('ppocr_cls'), '--output_path', output, '-c', dataPath('ppocr_cls', 'calib'), '--no_compare'], {}));
  assert.ok(run.reportPath && fs.existsSync(run.reportPath), 'report written');
  const html = fs.readFileSync(run.reportPath, 'utf8');
  assert.ok((html.match(/class="chart hist"/g) ?? []).length > 0, 'histograms drawn');
  const withRange = run.result.calibration!.ranges.filter((r) => r.histogram && r.histogram.counts.some((c) => c > 0));
  assert.ok(withRange.length > 0, 'the calibration table carries filled histograms');
});
