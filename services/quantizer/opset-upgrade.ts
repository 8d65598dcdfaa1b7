/**
 * Raising a model's default-domain opset for a mode that needs newer Q/DQ (FP8: 19, blocked INT4: 21).
 * The reference only rewrites the opset_import entry. We do the same, but first rewrite the operators
 * whose signature changed between the two versions where the rewrite is mechanical (Reduce* `axes`
 * attribute → input at 18), and refuse with FailedPrecondition where it is not.
 */
import { FailedPrecondition } from '../core/errors.js';
import { Graph, defaultOpset, makeInt64Tensor, type ModelProto, type GraphProto, type AttributeProto } from '../core/onnx/index.js';

/** Reduce ops whose `axes` moved from attribute to input at opset 18 (ReduceSum moved at 13). */
const REDUCE_AXES_AT_18 = new Set([
  'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare',
]);
/** Ops whose signature changed in a way we do not rewrite, with the opset of the change. */
const BREAKING: Readonly<Record<string, number>> = { DFT: 20, GridSample: 20, GroupNormalization: 21 };

/** Raises the default-domain opset to `target` (no-op when already there). Returns the new opset. */
export function raiseOpset(model: ModelProto, target: number, why: string): number {
  const current = defaultOpset(model);
  if (current >= target) return current;
  if (current < 13) {
    throw new FailedPrecondition(
      `${why} needs opset ${target}, the model has opset ${current}; convert it to opset 13 or later first (graph-analyzer Prepare)`,
    );
  }
  const graph = new Graph(model.graph as GraphProto);
  for (const n of graph.nodes) {
    if (n.domain && n.domain !== 'ai.onnx') continue;
    const change = BREAKING[n.opType];
    if (change !== undefined && current < change && target >= change) {
      throw new FailedPrecondition(
        `${why} needs opset ${target}, but node "${n.name || n.opType}" (${n.opType}) changed meaning at opset ${change}; convert the model to opset ${target} first`,
      );
    }
  }
  if (current < 18 && target >= 18) {
    const taken = graph.allNames();
    for (const n of graph.nodes) {
      if ((n.domain && n.domain !== 'ai.onnx') || !REDUCE_AXES_AT_18.has(n.opType)) continue;
      const axes = n.attribute.find((a) => a.name === 'axes') as AttributeProto | undefined;
      if (!axes) continue;
      const name = graph.uniqueName(`${n.name || n.opType}_axes`, taken);
      graph.addInitializer(makeInt64Tensor(name, [axes.ints.length], axes.ints.map(Number)));
      n.attribute = n.attribute.filter((a) => a !== axes);
      n.input = [n.input[0] ?? '', name];
    }
    graph.invalidate();
  }
  const entry = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx' || o.domain === 'ai.onnx.contrib');
  if (entry) entry.version = target;
  else model.opsetImport = [...model.opsetImport, { domain: '', version: target } as ModelProto['opsetImport'][number]];
  return target;
}

/** Minimum IR version for an opset (onnx's release table). */
export function minIrVersionForOpset(opset: number): number {
  if (opset >= 23) return 11;
  if (opset >= 21) return 10;
  if (opset >= 19) return 9;
  if (opset >= 15) return 8;
  if (opset >= 13) return 7;
  return 3;
}
