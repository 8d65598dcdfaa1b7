/**
 * Prepare (SPEC §1 preprocessing): check the model, convert it to opset 13 when it is below (opset 1 is left alone,
 * as in the reference), name unnamed nodes and duplicate shared linear weights. With keepIntermediateFiles the
 * reference's intermediate files are written: `<model>_opset13.onnx` and `<model>_named.onnx`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ModelProto, GraphProto } from '../core/onnx/index.js';
import { loadModel, saveModel } from '../core/onnx/index.js';
import { InvalidArgument } from '../core/errors.js';
import { convertToOpset13, defaultDomainOpset, TARGET_OPSET } from './opset-convert.js';
import { nameNodes, type RenamedNode } from './naming.js';
import { duplicateSharedWeights, type DuplicatedWeight } from './shared-weights.js';
import { checkOps, validateGraph, markPrepared, MAX_SUPPORTED_OPSET } from './validate.js';
import { AGraph } from './agraph.js';

export interface PrepareOptions {
  /** Write the intermediate models next to the output (default false). */
  keepIntermediateFiles?: boolean;
  /** Directory for intermediate files (default: the model's directory, or a temp dir if that is not writable). */
  outputDir?: string;
  /** Base name for intermediate files (default: the model file's name without extension, or "model"). */
  modelName?: string;
  useExternalData?: boolean;
  /** With keepIntermediateFiles: hand each intermediate model here instead of writing a file (services). */
  onIntermediate?: (fileName: string, model: ModelProto) => void;
}

export interface PrepareResult {
  model: ModelProto;
  opsetBefore: number;
  opset: number;
  converted: boolean;
  named: boolean;
  duplicatedWeights: boolean;
  renamedNodes: RenamedNode[];
  duplicates: DuplicatedWeight[];
  intermediateFiles: string[];
}

/** Structural checks shared by Prepare and Analyze; throws InvalidArgument naming the node. */
export function checkModel(model: ModelProto): AGraph {
  const opset = defaultDomainOpset(model);
  if (opset > MAX_SUPPORTED_OPSET) throw new InvalidArgument(`model opset ${opset} is beyond the supported maximum ${MAX_SUPPORTED_OPSET}`);
  if (opset === 0) throw new InvalidArgument('model has no opset_import for the default ONNX domain');
  const graph = model.graph as GraphProto;
  const g = new AGraph(graph);
  validateGraph(g);
  checkOps(g);
  return g;
}

/** Prepares a decoded model in place. */
export function prepare(model: ModelProto, opts: PrepareOptions = {}): PrepareResult {
  const checked = checkModel(model);
  const files: string[] = [];
  const keep = opts.keepIntermediateFiles === true;
  const base = opts.modelName ?? 'model';
  const dir = keep && !opts.onIntermediate ? writableDir(opts.outputDir ?? process.cwd()) : '';
  const save = (suffix: string): void => {
    if (!keep) return;
    if (opts.onIntermediate) {
      opts.onIntermediate(`${base}_${suffix}.onnx`, model);
      files.push(`${base}_${suffix}.onnx`);
      return;
    }
    const f = path.join(dir, `${base}_${suffix}.onnx`);
    saveModel(model, f, { externalData: opts.useExternalData ? true : 'auto' });
    files.push(f);
  };
  const { converted, from } = convertToOpset13(model);
  if (converted) save(`opset${TARGET_OPSET}`);
  const graph = model.graph as GraphProto;
  const renamedNodes = nameNodes(graph);
  const duplicates = duplicateSharedWeights(graph, converted ? undefined : checked);
  const named = renamedNodes.length > 0;
  const duplicatedWeights = duplicates.length > 0;
  if (named || duplicatedWeights) save('named');
  // The index built for the checks stays valid when only names changed: hand it to Analyze.
  if (!converted && !duplicatedWeights) {
    for (let k = 0; k < renamedNodes.length; k++) checked.names[renamedNodes[k]!.index] = renamedNodes[k]!.name;
    markPrepared(graph, checked);
  } else markPrepared(graph);
  return { model, opsetBefore: from, opset: defaultDomainOpset(model), converted, named, duplicatedWeights, renamedNodes, duplicates, intermediateFiles: files };
}

/** Loads and prepares a model file (`.onnx` or `.pb`). */
export function prepareFile(file: string, opts: PrepareOptions = {}): PrepareResult {
  if (!file.endsWith('.onnx') && !file.endsWith('.pb')) throw new InvalidArgument(`model path must end in .onnx or .pb: ${file}`);
  const model = loadModel(file);
  const modelName = opts.modelName ?? path.basename(file).replace(/\.(onnx|pb)$/, '');
  return prepare(model, { ...opts, modelName, outputDir: opts.outputDir ?? path.dirname(path.resolve(file)) });
}

function writableDir(dir: string): string {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return dir;
  } catch {
    return fs.mkdtempSync(path.join(os.tmpdir(), 'modelopt-prepare-'));
  }
}
