/**
 * For bench/calibrator.bench.ts: prepare a model as `modelopt quantize` does, analyse it for INT8
 * and write the prepared model and the tensors graph-analyzer asks the calibrator for.
 *   node --import tsx bench/analyzer-tensors.ts <model.onnx> <prepared.onnx> <tensors.json>
 */
import fs from 'node:fs';
import { prepareFile } from '../services/graph-analyzer/prepare.js';
import { analyze } from '../services/graph-analyzer/analyze.js';
import { saveModel } from '../services/core/onnx/index.js';

const [src, preparedOut, tensorsOut] = process.argv.slice(2) as [string, string, string];
const prepared = prepareFile(src);
const analysis = analyze(prepared.model, { quantizeMode: 'int8' });
saveModel(prepared.model, preparedOut);
fs.writeFileSync(tensorsOut, JSON.stringify(analysis.tensorsToCalibrate));
