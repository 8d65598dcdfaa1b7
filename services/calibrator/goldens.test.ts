/**
 * Fidelity against onnxruntime 1.30 quantize_static (../shared/goldens/<model>.ort.<method>.json):
 * every per-tensor activation scale both quantize must agree within 1 % (symmetric INT8:
 * scale = max(|low|, |high|) / 127).
 *
 * Models: the data-backed ones (calibrated on ../shared/data/<model>.calib.npz, every sample) and
 * gpt2_small, whose synthetic token ids are the ones in data/gpt2_small.calib.npz. The light_* goldens
 * were calibrated on synthetic inputs that also stand in for their weights (BatchNorm statistics and
 * shapes are graph inputs) and whose generator is not shipped; they are not compared here.
 *
 * Per model the min/max pass runs once and feeds entropy and percentile through `globalRanges`
 * (the same numbers a single run computes, three passes instead of five).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel } from '../core/onnx/index.js';
import { collectStatistics, globalRangesOf } from './calibrate.js';
import { computeTable, symmetricInt8Scale } from './methods.js';
import { calibratorKernels } from './kernels.js';
import type { CalibrationTable } from '../core/quant-types.js';
import { readOrtGolden, resolveGoldenScales } from '../../test/helpers/ort-golden.js';
import { dataPath, modelPath } from '../../test/helpers/shared.js';

const MODELS = ['mnist8', 'ultraface_rfb320', 'ppocr_cls', 'ppocr_rec', 'ppocr_det', 'gpt2_small'];
const METHODS = ['minmax', 'entropy', 'percentile'] as const;
const kernels = calibratorKernels().kernels;

for (const name of MODELS) {
  test(`${name}: activation scales match onnxruntime quantize_static within 1%`, async () => {
    const model = loadModel(modelPath(name));
    const goldens = METHODS.map((m) => [m, readOrtGolden(name, m)] as const).filter(([, g]) => g !== null);
    assert.ok(goldens.length > 0);
    const resolved = new Map(goldens.map(([m, g]) => [m, resolveGoldenScales(model, g!).resolved]));
    const tensors = [...new Set([...resolved.values()].flat().map((r) => r.tensor))];
    const data = { kind: 'file' as const, path: dataPath(name, 'calib') };
    const ranges = await collectStatistics(model, { method: 'percentile', tensors, data, stopAfterRanges: true });
    assert.equal(ranges.samples, goldens[0][1]!.samples);
    const g = globalRangesOf(ranges);
    const tables: Record<string, CalibrationTable> = {
      minmax: await computeTable({ ...ranges, method: 'minmax', phase: 'complete' }, kernels),
    };
    for (const [m] of goldens) {
      if (m === 'minmax') continue;
      tables[m] = await computeTable(await collectStatistics(model, { method: m, tensors, data, globalRanges: g }), kernels);
    }
    const report: string[] = [];
    for (const [m, golden] of goldens) {
      let worst = 0;
      let compared = 0;
      const failures: string[] = [];
      const ortFailed: string[] = [];
      for (const r of resolved.get(m)!) {
        const ours = symmetricInt8Scale(tables[m].ranges[r.tensor]);
        if (!Number.isFinite(r.scale)) {
          // onnxruntime's scale overflowed (range near float32 max): ours must be finite and explained
          assert.ok(Number.isFinite(ours), `${m} ${r.tensor}: finite scale expected`);
          assert.ok(tables[m].ranges[r.tensor].warnings?.some((w) => /float32 max/.test(w)), `${m} ${r.tensor}: warning expected`);
          ortFailed.push(r.tensor);
          continue;
        }
        const rel = Math.abs(ours - r.scale) / r.scale;
        compared++;
        worst = Math.max(worst, rel);
        if (!(rel <= 0.01)) failures.push(`${r.source} (${r.tensor}): ours ${ours}, onnxruntime ${r.scale}`);
      }
      report.push(`${name} ${m}: ${compared} tensors, max rel err ${worst.toExponential(2)}${ortFailed.length ? `, ${ortFailed.length} where onnxruntime overflowed` : ''} (${golden!.samples} samples)`);
      assert.deepEqual(failures, [], `${name} ${m}`);
      assert.ok(compared > 0);
    }
    console.log(report.join('\n'));
  });
}
