import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planCalibration } from './calibration-data.js';
import { MAX_GROUP_STEPS, planReductionRuns } from './reduction-runs.js';
import { fiveTensorModel } from '../../test/helpers/calib-models.js';

function planned(n: number, rows: number, opts: { unknownShapes?: boolean; requested?: number; start?: number } = {}) {
  const m = fiveTensorModel(n, opts.unknownShapes);
  const plan = planCalibration(m, { kind: 'arrays', arrays: { x: { dtype: 'float32', shape: [rows, n, n], data: new Float32Array(rows * n * n) } } });
  const tensors = opts.unknownShapes ? ['cx', 'a', 'b', 'c', 'd', 'e'] : ['x', 'a', 'b', 'c', 'd', 'e'];
  const r = planReductionRuns(m, plan, tensors, { start: opts.start ?? 0, end: rows }, opts.requested ?? MAX_GROUP_STEPS, opts.requested);
  return { group: r.group, sized: r.sized, fixed: r.fixedDims?.get('x'), known: r.knownShapes?.shapes.get('a') };
}

test('runs of the min/max pass: groups by the tensors sizes, cut to runs of one size with every dim fixed', () => {
  // 4,096 values per tensor: 8 per run; 64 steps are 8 runs of 8, 20 steps 4 of 5, 10 steps 2 of 5, 6 steps one run
  assert.deepEqual(planned(64, 64), { group: 8, sized: true, fixed: [8, 64, 64], known: [8, 64, 64] });
  assert.deepEqual(planned(64, 20), { group: 5, sized: true, fixed: [5, 64, 64], known: [5, 64, 64] });
  assert.deepEqual(planned(64, 10), { group: 5, sized: true, fixed: [5, 64, 64], known: [5, 64, 64] });
  assert.deepEqual(planned(64, 6), { group: 6, sized: true, fixed: [6, 64, 64], known: [6, 64, 64] });
  // steps [3, 20): 17, a prime over 8: runs of 8, 8 and 1, dim 0 left free
  assert.deepEqual(planned(64, 20, { start: 3 }), { group: 8, sized: true, fixed: undefined, known: [8, 64, 64] });
  // the caller's group is kept: cut evenly only where it divides the steps
  assert.deepEqual(planned(64, 20, { requested: 3 }), { group: 3, sized: true, fixed: undefined, known: [3, 64, 64] });
  assert.deepEqual(planned(64, 20, { requested: 5 }), { group: 5, sized: true, fixed: [5, 64, 64], known: [5, 64, 64] });
  // 65,536 values: 8 per run (the most; 1M / 65,536 on average would allow 15), cut to 5 for 20 steps
  assert.deepEqual(planned(256, 20), { group: 5, sized: true, fixed: [5, 256, 256], known: [5, 256, 256] });
  // 262,144 values, over 250K on average: one step per run, built for one step's dims
  assert.deepEqual(planned(512, 20), { group: 1, sized: true, fixed: [1, 512, 512], known: undefined });
  // shapes not inferred: undecided until the first step has run alone, dims left free
  assert.deepEqual(planned(64, 20, { unknownShapes: true }), { group: 8, sized: false, fixed: undefined, known: undefined });
  // steps that cannot be grouped: one per run, built for one step's dims
  assert.deepEqual(planned(64, 20, { requested: 1 }), { group: 1, sized: false, fixed: [1, 64, 64], known: undefined });
});
