import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import { AGraph } from './agraph.js';
import { buildModel } from './test-models.js';
import type { GraphProto } from '../core/onnx/index.js';

/** A chain of `n` Relu nodes: n + 1 tensors, n inputs, n outputs. */
function chain(n: number): GraphProto {
  const nodes = [];
  for (let i = 0; i < n; i++) nodes.push({ op: 'Relu', in: [i === 0 ? 'x' : `t${i}`], out: [i === n - 1 ? 'y' : `t${i + 1}`], name: `r${i}` });
  return buildModel({ nodes, inputs: ['x'], outputs: ['y'] }).graph as GraphProto;
}

test('the analysis index and its order stay out of V8 external memory (no forced full collection at a million nodes)', () => {
  const graph = chain(200_000);
  const before = v8.getHeapStatistics().external_memory;
  const g = new AGraph(graph);
  const after = v8.getHeapStatistics().external_memory;
  // the index's typed arrays (some of them): CSR lists, per-node flags, producers
  const indexBytes = g.inIds.byteLength + g.outIds.byteLength + g.inStart.byteLength + g.outStart.byteLength + g.prodFirst.byteLength + g.nodeFlags.byteLength;
  assert.ok(indexBytes > 4_000_000, `index of ${indexBytes} bytes`);
  assert.ok(after - before < indexBytes / 20, `external memory grew by ${after - before} bytes for an index of ${indexBytes}`);
  // the order, which the index keeps, too (level order's own wait counts and levels are freed at once: not shared)
  const order = g.order;
  assert.ok(order.buffer instanceof SharedArrayBuffer);
  assert.equal(order.length, 200_000);
  assert.equal(order[0], 0);
  assert.equal(order[199_999], 199_999);
});
