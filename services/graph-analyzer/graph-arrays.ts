/**
 * Zeroed typed arrays for the arrays that the analysis index keeps for a whole request (AGraph's CSR lists and
 * flags, the tensor-name table, the node order).
 *
 * They sit on SharedArrayBuffer rather than ArrayBuffer for one reason: V8 counts every ArrayBuffer's bytes as
 * "external memory" and starts a full mark-compact once 64 MB more of it exists than after the last one, whether
 * or not the heap needs collecting. At a million nodes the index alone is ~54 MB, so that collection came at 1M
 * nodes and not at 500k, and it marked the whole model (~0.5 GB of protobuf objects): 0.36-0.56 s of a 4.5-5 s
 * analysis, a superlinear step (`node --trace-gc`). V8 leaves shared backing stores out of that per-isolate
 * count. The memory is the same zeroed block, freed when the index is collected; a request makes far more
 * JS-heap garbage than index bytes, so ordinary collections reclaim it.
 *
 * Per-pass temporaries stay on ArrayBuffer: freed mid-request, their memory is reused by the next pass's
 * arrays, whereas shared buffers, collected later, would make every pass fault in fresh pages (slower, measured).
 * None of these arrays is ever shared with a worker.
 */
export function int32s(n: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(n * 4));
}

export function uint8s(n: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(n));
}
