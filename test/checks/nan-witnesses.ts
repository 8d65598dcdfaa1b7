/**
 * A check, not a test: NaN put into every calibrated tensor that the min/max pass sees through a witness
 * (nan-free.ts) must show. Per model (default ppocr_det, ppocr_rec, ppocr_cls, graph-analyzer's INT8
 * lists, the first calibration sample, onnxruntime level all): each witnessed tensor gets a NaN at its first
 * element, its last and one chosen at random, one onnxruntime session each, and the pass must find the
 * tensor not finite. Prints the counts; exits 1 if a NaN went unseen. Minutes per model.
 *   node --import tsx test/checks/nan-witnesses.ts [model ...]
 */
import { loadModel } from '../../services/core/onnx/index.js';
import { prepare } from '../../services/graph-analyzer/prepare.js';
import { analyze } from '../../services/graph-analyzer/analyze.js';
import { planCalibration } from '../../services/calibrator/calibration-data.js';
import { CaptureSession, ReducingSession } from '../../services/calibrator/capture-session.js';
import { withNaNAt } from '../helpers/calib-models.js';
import { dataPath, modelPath } from '../helpers/shared.js';

const models = process.argv.slice(2).length ? process.argv.slice(2) : ['ppocr_det', 'ppocr_rec', 'ppocr_cls'];
let unseen = 0;
for (const name of models) {
  const t0 = Date.now();
  const model = loadModel(modelPath(name));
  prepare(model);
  const tensors = analyze(model, { quantizeMode: 'int8' }).tensorsToCalibrate;
  const plan = planCalibration(model, { kind: 'file', path: dataPath(name, 'calib') });
  const feeds = plan.feedSteps(0, 1);
  const opts = { graphOptimizationLevel: 'all' as const, inputDims: plan.sameStepDims(0, 1) };
  const probe = await ReducingSession.create(model, tensors, opts);
  const witnessed = [...probe.nanChecks].filter(([, c]) => c.kind === 'witness').map(([t]) => t);
  await probe.release();
  const capture = await CaptureSession.create(model, witnessed, opts);
  const dims = new Map([...(await capture.run(feeds, witnessed))].map(([t, c]) => [t, c.dims]));
  await capture.release();
  const inputs = new Set(model.graph!.input.map((i) => i.name));
  let runs = 0;
  let seed = 12345;
  for (const t of witnessed) {
    const d = dims.get(t)!;
    const n = d.reduce((a, b) => a * b, 1);
    seed = (seed * 1103515245 + 12345) >>> 0;
    for (const at of new Set([0, n - 1, seed % n])) {
      // a graph input gets its NaN in the feed; any other tensor through an Add of a NaN mask after its producer
      const injected = inputs.has(t) ? model : withNaNAt(model, t, d, at);
      const f = inputs.has(t) ? feeds.map((x) => (x.name === t ? { ...x, data: Object.assign((x.data as Float32Array).slice(), { [at]: NaN }) } : x)) : feeds;
      const s = await ReducingSession.create(injected, tensors, opts);
      const red = await s.run(f);
      await s.release();
      runs++;
      if (red.get(t)!.finite) {
        unseen++;
        console.log(`${name}: NaN at element ${at} of ${t} [${d}] not seen (witness ${JSON.stringify(s.nanChecks.get(t))})`);
      }
    }
  }
  plan.close();
  console.log(`${name}: ${witnessed.length} witnessed tensors, ${runs} injections, ${unseen} unseen so far (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
}
process.exit(unseen ? 1 : 0);
