/**
 * `modelopt quantize` end to end: every shared model with its calibration data through the six
 * services over gRPC (embedded mesh on loopback), the output run in onnxruntime-node and compared
 * with the original on the evaluation data. Prints the cosine similarity per output.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { quantizeWithMesh } from '../../services/cli/quantize.js';
import { parseQuantizeArgs } from '../../services/cli/quantize-args.js';
import { sharedModels, dataPath, tmpDir } from '../helpers/shared.js';

const out = tmpDir('e2e-quantize');
after(() => fs.rmSync(out, { recursive: true, force: true }));

/** One line per model and output, printed as the test goes (the closing notes quote these). */
const summary = { push: (line: string): void => console.log(`[e2e int8 minmax]${line}`) };

for (const model of sharedModels()) {
  const name = path.basename(model, '.onnx');
  test(`modelopt quantize int8 ${name}: output runs in onnxruntime and agrees with the original`, { timeout: 15 * 60_000 }, async () => {
    const calib = dataPath(name, 'calib');
    const evalData = dataPath(name, 'eval');
    const argv = ['--onnx_path', model, '--output_path', path.join(out, `${name}.quant.onnx`), '--calibration_method', 'minmax', '--no_report'];
    if (fs.existsSync(calib)) argv.push('-c', calib);
    if (fs.existsSync(evalData)) argv.push('--eval_data_path', evalData);
    if (name === 'silero_vad_ifless') {
      // Its Conv/Gemm nodes sit inside an If subgraph; the top-level graph has nothing to quantize.
      await assert.rejects(quantizeWithMesh(parseQuantizeArgs(argv, {})), /nothing to quantize: the analyzer selected none/);
      assert.equal(fs.existsSync(path.join(out, `${name}.quant.onnx`)), false, 'no output written');
      summary.push(`  ${name.padEnd(22)} (no quantizable top-level node: clear error, no output)`);
      return;
    }
    const result = await quantizeWithMesh(parseQuantizeArgs(argv, {}));
    assert.ok(fs.existsSync(result.outputPath), 'output written');
    assert.ok(result.exported.checker?.passed, `checker: ${result.exported.checker?.messages.join('; ')}`);
    assert.ok((result.exported.summary?.quantizedNodes ?? 0) > 0, 'some nodes quantized');
    const session = await ort.InferenceSession.create(result.outputPath);
    assert.ok(session.outputNames.length > 0);
    assert.ok(result.comparison.length > 0, 'compared on data');
    for (const c of result.comparison) {
      assert.ok(Number.isFinite(c.cosine), `${c.output}: cosine is finite`);
      summary.push(`  ${name.padEnd(22)} ${c.output.padEnd(24)} cosine ${c.cosine.toFixed(5)}  snr ${c.snrDb.toFixed(1)} dB${c.top1Agreement !== undefined ? `  top1 ${(c.top1Agreement * 100).toFixed(1)}%` : ''}`);
    }
    // The classifiers must stay close to the original.
    if (name === 'mnist8' || name === 'ppocr_cls') {
      for (const c of result.comparison) assert.ok(c.cosine >= 0.99, `${name} ${c.output}: cosine ${c.cosine}`);
    }
  });
}
