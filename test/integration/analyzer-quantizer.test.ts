/**
 * The real pipeline on the shared models: graph-analyzer Prepare + Analyze → calibration (test helper,
 * onnxruntime-node) → Quantize, checked against the reference's goldens: the quantized_nodes lists and
 * the DequantizeLinear entries (name, source, scale shape, zero-point type, axis).
 * Constant-node weights (ppocr_*) are per-channel here (docs/compatibility.md, "quantizer"), and the
 * reference's no-quantize removal quirk renumbers some dedicated pairs; both are counted separately.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataType, Graph, type GraphProto } from '../../services/core/onnx/index.js';

import { analyze } from '../../services/graph-analyzer/analyze.js';
import { quantizeModel } from '../../services/quantizer/quantize.js';
import { calibrate, loadFeeds, loadPrepared, syntheticFeeds } from '../helpers/ort-calib.js';
import { describeQdq, readGolden } from '../helpers/goldens.js';


const ZP: Record<string, number> = { INT8: DataType.INT8, FLOAT8E4M3FN: DataType.FLOAT8E4M3FN };
/**
 * INT8 placements that differ for reasons outside the quantizer, checked for attributes only:
 * the analyzer pins the documented quantizable types, while onnxruntime 1.30's registry (which made
 * the goldens) also selects Flatten/Slice (ultraface_rfb320, ppocr_cls, ppocr_rec); ppocr_det shows
 * the reference's no-quantize removal quirk (it strips the first dedicated pair, we the edge's).
 */
const KNOWN_INT8_DIFFS = new Set(['ultraface_rfb320', 'ppocr_cls', 'ppocr_rec', 'ppocr_det']);
const MODELS = ['mnist8', 'ultraface_rfb320', 'ppocr_cls', 'ppocr_det', 'ppocr_rec', 'light_resnet50', 'light_inception_v2', 'light_densenet121', 'gpt2_small'];

for (const golden of ['int8-minmax', 'fp8'] as const) {
  for (const name of MODELS) {
    const g = readGolden(`${name}.modelopt.${golden}.json`);
    if (!g) continue;
    test(`analyzer → quantizer ${golden} on ${name} reproduces the golden placement`, async () => {
      // Prepared by onnx's converter (test/helpers/prepare_model.py): the analyzer's own opset
      // conversion of ultraface does not run in onnxruntime yet (Mul_98 broadcast).
      const model = loadPrepared(name);
      const graph = new Graph(model.graph as GraphProto);
      const constantOutputs = new Set(graph.nodes.filter((n) => n.opType === 'Constant').map((n) => n.output[0]!));
      const mode = golden === 'fp8' ? 'fp8' : 'int8';
      const analysis = analyze(model, { quantizeMode: mode });
      let feeds;
      try {
        feeds = loadFeeds(name, 'calib', 2);
      } catch {
        feeds = syntheticFeeds(model, 2);
      }
      const table = await calibrate(model, feeds, mode === 'fp8' ? 'distribution' : 'minmax');
      await quantizeModel({ model, options: { quantizeMode: mode }, analysis, calibration: table });
      const ours = describeQdq(model);
      const goldNodes = [...g.quantized_nodes].sort();
      const goldDq = new Map(g.dequantize.map((d) => [d.name, d]));
      const missingNodes = goldNodes.filter((n) => !ours.quantizedNodes.includes(n));
      const extraNodes = ours.quantizedNodes.filter((n) => !goldNodes.includes(n));
      const lackDq = [...goldDq.keys()].filter((k) => !ours.dequantize.has(k));
      const extraDq = [...ours.dequantize.keys()].filter((k) => !goldDq.has(k));
      let attrDiff = 0;
      let constWeight = 0;
      for (const [k, d] of ours.dequantize) {
        const gd = goldDq.get(k);
        if (!gd) continue;
        const same = d.source === gd.source && d.zpType === ZP[gd.zero_point_dtype] && JSON.stringify(d.scaleShape) === JSON.stringify(gd.scale_shape) && d.axis === (gd.axis ?? undefined);
        if (same) continue;
        if (constantOutputs.has(d.source) && gd.scale_shape.length === 0) constWeight++;
        else attrDiff++;
      }
      console.log(
        `[pipeline] ${golden} ${name}: nodes ${ours.quantizedNodes.length}/${goldNodes.length} (missing ${missingNodes.length}, extra ${extraNodes.length}); DQ ${ours.dequantize.size}/${goldDq.size} (lacking ${lackDq.length}, extra ${extraDq.length}); attribute differences ${attrDiff}, Constant-weight per-channel ${constWeight}` +
          (missingNodes.length + extraNodes.length ? ` e.g. ${[...missingNodes, ...extraNodes].slice(0, 3).join(', ')}` : '') +
          (lackDq.length + extraDq.length ? ` DQ e.g. ${[...lackDq.slice(0, 2), ...extraDq.slice(0, 2)].join(', ')}` : ''),
      );
      assert.equal(attrDiff, 0);
      if (golden === 'int8-minmax' && KNOWN_INT8_DIFFS.has(name)) return;
      assert.deepEqual(missingNodes, [], 'golden quantized nodes we do not quantize');
      assert.deepEqual(extraNodes, [], 'nodes we quantize that the golden does not');
      assert.deepEqual(lackDq, [], 'golden DQs we do not write');
      assert.deepEqual(extraDq, [], 'DQs we write that the golden does not');
    });
  }
}
