/**
 * I/O queries (SPEC §1): the model's external inputs with their shapes and the common batch size.
 */
import type { GraphProto } from '../core/onnx/index.js';

export interface InputShape {
  name: string;
  dims: number[];
}

/**
 * Graph inputs that are not initializers, in the model's declared order ([quirk] the reference sorts them by
 * name). A dim_param, -1 or a dimension with neither value set becomes 1 (the reference drops the last kind).
 */
export function modelInputs(graph: GraphProto): InputShape[] {
  const inits = new Set(graph.initializer.map((t) => t.name));
  return graph.input
    .filter((i) => !inits.has(i.name))
    .map((i) => ({
      name: i.name,
      dims: (i.type?.tensorType?.shape?.dim ?? []).map((d) => {
        const v = d.dimValue == null ? undefined : Number(d.dimValue);
        return v === undefined || v <= 0 ? 1 : v;
      }),
    }));
}

/** The common dim 0 of the inputs when they all agree, otherwise 1. */
export function batchSize(inputs: InputShape[]): number {
  if (!inputs.length) return 1;
  const b = inputs[0]!.dims[0] ?? 1;
  return inputs.every((i) => (i.dims[0] ?? 1) === b) ? b : 1;
}
