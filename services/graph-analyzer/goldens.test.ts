/**
 * Fidelity against the reference (../shared/goldens/<model>.modelopt.<mode>.json `quantized_nodes`: every node that
 * reads a DequantizeLinear output after the reference quantized). For each model and mode we predict that set from
 * Prepare + Analyze and the quantizer's placement rules, in two configurations:
 *  - "reference": the op types the reference got from onnxruntime 1.30's registries and the reference's removal of
 *    no-quantize edges. This must match the golden exactly.
 *  - "ours" (the defaults): the pinned INT8 op types and the intended edge removal. Its differences from the golden
 *    must be exactly the ones listed in EXPECTED_DIFFERENCES and explained in docs/compatibility.md.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { GOLDENS_DIR, modelPath } from '../../test/helpers/shared.js';
import { prepareFile } from './prepare.js';
import { analyze } from './analyze.js';
import { INT8_ORT130_OP_TYPES } from './op-types.js';
import type { QuantizeMode } from '../core/quant-types.js';

const MODELS = ['gpt2_small', 'light_densenet121', 'light_inception_v2', 'light_resnet50', 'mnist8', 'ppocr_cls', 'ppocr_det', 'ppocr_rec', 'ultraface_rfb320'];
const MODES: { golden: string; mode: QuantizeMode }[] = [
  { golden: 'int8-minmax', mode: 'int8' },
  { golden: 'int8-entropy', mode: 'int8' },
  { golden: 'fp8', mode: 'fp8' },
  { golden: 'int4_rtn_dq', mode: 'int4_rtn_dq' },
  { golden: 'int4_awq_clip', mode: 'int4_awq_clip' },
];

/** model → golden nodes our defaults do not quantize (ORT 1.30 registry extras) and extra nodes (removal quirk). */
const EXPECTED_DIFFERENCES: Record<string, { missing: string[]; extra: string[] }> = {
  ppocr_cls: { missing: ['Flatten_510', 'Shape_510'], extra: [] },
  ppocr_rec: {
    missing: ['Flatten_817', 'Flatten_844', 'Flatten_858', 'Shape_817', 'Shape_844', 'Shape_858', 'p2o.Slice.10', 'p2o.Slice.11', 'p2o.Slice.12', 'p2o.Slice.4', 'p2o.Slice.5', 'p2o.Slice.6'],
    extra: [],
  },
  ultraface_rfb320: { missing: ['Flatten_88', 'Shape_88', 'Slice_101', 'Slice_104', 'Slice_108', 'Slice_111', 'Slice_90', 'Slice_96'], extra: [] },
  ppocr_det: {
    missing: [],
    extra: ['p2o.GlobalAveragePool.4', 'p2o.GlobalAveragePool.6', 'p2o.GlobalAveragePool.8', 'p2o.GlobalAveragePool.10', 'p2o.GlobalAveragePool.12', 'p2o.GlobalAveragePool.14', 'p2o.GlobalAveragePool.16', 'p2o.GlobalAveragePool.18'],
  },
};

function readGolden(model: string, mode: string): string[] | null {
  const p = path.join(GOLDENS_DIR, `${model}.modelopt.${mode}.json`);
  if (!fs.existsSync(p)) return null;
  // The goldens contain bare NaN/Infinity (Python json); only quantized_nodes is needed here.
  const text = fs.readFileSync(p, 'utf8').replace(/\bNaN\b/g, 'null').replace(/-?\bInfinity\b/g, 'null');
  return (JSON.parse(text) as { quantized_nodes: string[] }).quantized_nodes;
}

const diff = (a: Set<string>, b: Set<string>): string[] => [...a].filter((x) => !b.has(x)).sort();

test('predicted quantized nodes match the reference goldens on every shared model', () => {
  const rows: string[] = [];
  let compared = 0;
  for (const model of MODELS) {
    const prepared = prepareFile(modelPath(model));
    for (const { golden, mode } of MODES) {
      const nodes = readGolden(model, golden);
      if (!nodes) continue;
      compared++;
      const gold = new Set(nodes);
      const ref = analyze(prepared.model, {
        quantizeMode: mode,
        removal: 'reference',
        ...(mode === 'int8' ? { opTypesToQuantize: [...INT8_ORT130_OP_TYPES] } : {}),
      });
      const refSet = new Set(ref.predictedQuantizedNodes);
      assert.deepEqual({ missing: diff(gold, refSet), extra: diff(refSet, gold) }, { missing: [], extra: [] }, `${model} ${golden} (reference configuration)`);

      const ours = analyze(prepared.model, { quantizeMode: mode });
      const ourSet = new Set(ours.predictedQuantizedNodes);
      const missing = diff(gold, ourSet);
      const extra = diff(ourSet, gold);
      const expected = mode === 'int8' ? (EXPECTED_DIFFERENCES[model] ?? { missing: [], extra: [] }) : { missing: [], extra: [] };
      assert.deepEqual({ missing, extra }, { missing: [...expected.missing].sort(), extra: [...expected.extra].sort() }, `${model} ${golden} (our defaults)`);
      const ourNote = missing.length || extra.length ? `-${missing.length}/+${extra.length} (documented)` : 'match';
      rows.push(`${model.padEnd(20)} ${golden.padEnd(14)} ${String(gold.size).padStart(6)}   match       ${ourNote}`);
    }
  }
  console.log(`\nmodel                mode           golden   reference   our defaults\n${rows.join('\n')}`);
  assert.equal(compared, 27, "every modelopt golden file is compared");
});

test('silero_vad_ifless (no golden, If with subgraphs) prepares and analyzes', () => {
  const p = prepareFile(modelPath('silero_vad_ifless'));
  const r = analyze(p.model, { quantizeMode: 'int8' });
  assert.equal(r.decisions.length, p.model.graph!.node.length);
  assert.ok(r.decisions.every((d) => d.node && d.rule));
});
