import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeWithService, formatDecisions, analyzeCommand } from './analyze.js';
import { QuantizeConfig, QuantizeMode } from '../../gen/modelopt/v1/common.js';
import { modelPath } from '../../test/helpers/shared.js';
import { InvalidArgument } from '../core/errors.js';

test('modelopt analyze: decisions table through an in-process graph-analyzer', async () => {
  const r = await analyzeWithService(modelPath('mnist8'), QuantizeConfig.fromPartial({ quantizeMode: QuantizeMode.QUANTIZE_MODE_INT8, nodesToExclude: ['Pooling'] }));
  const text = formatDecisions(r, false);
  const lines = text.trim().split('\n');
  assert.match(lines[0]!, /^node\s+op type\s+quantized\s+rule\s+reason$/);
  assert.match(text, /Convolution28\s+Conv\s+yes\s+cask-head/);
  assert.match(text, /Pooling66\s+MaxPool\s+no\s+excluded-name/);
  assert.match(lines.at(-1)!, /^3 of 12 nodes selected/);
  assert.equal(formatDecisions(r, true).trim().split('\n').length, 3 + 2 + 2);
});

test('modelopt analyze: bad arguments are InvalidArgument', async () => {
  await assert.rejects(analyzeCommand.run([]), InvalidArgument);
  await assert.rejects(analyzeCommand.run([modelPath('mnist8'), '--quantize_mode', 'int3']), /int3/);
  await assert.rejects(analyzeCommand.run(['/nonexistent.onnx']), /not found/);
});
