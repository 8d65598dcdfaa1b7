import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze } from './analyze.js';
import { prepare } from './prepare.js';
import { AGraph } from './agraph.js';
import { ConstTensors } from './const-tensors.js';
import { PathMatcher } from './path-match.js';
import { Backbones, buildNonResidualMap, lowestCommonAncestor } from './backbone.js';
import { buildModel, floatInit, residualBlock, valueInfo } from './test-models.js';
import { INT8_DEFAULT_OP_TYPES, FP8_DEFAULT_OP_TYPES, INT4_DEFAULT_OP_TYPES, isCopy, isUnary, isPointwise } from './op-types.js';
import type { GraphProto, ModelProto } from '../core/onnx/index.js';
import { InvalidArgument } from '../core/errors.js';

function tools(m: ModelProto) {
  const g = new AGraph(m.graph as GraphProto);
  const consts = new ConstTensors(g);
  const paths = new PathMatcher(g, consts);
  const id = (name: string): number => g.names.indexOf(name);
  return { g, consts, paths, id, bb: new Backbones(g, paths) };
}

test('taxonomy and default op types per mode', () => {
  assert.equal(isUnary('Relu'), false);
  assert.equal(isPointwise('BatchNormalization'), false);
  assert.equal(isCopy('Unsqueeze'), false);
  assert.equal(isCopy('Reshape'), true);
  assert.ok(INT8_DEFAULT_OP_TYPES.includes('LRN') && INT8_DEFAULT_OP_TYPES.includes('HardSwish'));
  assert.equal(INT8_DEFAULT_OP_TYPES.length, 13);
  assert.deepEqual([...FP8_DEFAULT_OP_TYPES].sort(), ['Conv', 'Gemm', 'MatMul']);
  assert.deepEqual([...INT4_DEFAULT_OP_TYPES].sort(), ['Gemm', 'MatMul']);
});

test('const tensors: initializers, Constant/Identity outputs, Squeeze/Unsqueeze of const, Exp(Clip(const)); never graph inputs', () => {
  const m = buildModel({
    nodes: [
      { op: 'Constant', in: [], out: ['k'], name: 'k', attrs: {} },
      { op: 'Identity', in: ['x'], out: ['id'], name: 'id' },
      { op: 'Unsqueeze', in: ['k', 'ax'], out: ['uk'], name: 'uk' },
      { op: 'Unsqueeze', in: ['x', 'ax'], out: ['ux'], name: 'ux' },
      { op: 'Clip', in: ['w', 'lo'], out: ['cl'], name: 'clip' },
      { op: 'Exp', in: ['cl'], out: ['ex'], name: 'exp' },
      { op: 'Exp', in: ['x'], out: ['ex2'], name: 'exp2' },
    ],
    inits: [floatInit('w', [2]), floatInit('lo', [])],
  });
  const { consts } = tools(m);
  const r = Object.fromEntries(['w', 'k', 'id', 'uk', 'ux', 'ex', 'ex2', 'x'].map((t) => [t, consts.isConst(t)]));
  assert.deepEqual(r, { w: true, k: true, id: true, uk: true, ux: false, ex: true, ex2: false, x: false });
});

test('path matching: BiasAdd/ConstMul are optional, Cast is a wildcard, collected lists are per call', () => {
  const m = buildModel({
    nodes: [
      { op: 'Conv', in: ['x', 'w'], out: ['c'], name: 'conv' },
      { op: 'Add', in: ['c', 'b'], out: ['a'], name: 'bias' },
      { op: 'Relu', in: ['a'], out: ['r'], name: 'relu' },
      { op: 'Cast', in: ['r'], out: ['cr'], name: 'cast', attrs: { to: 1 } },
      { op: 'Relu', in: ['cr'], out: ['y'], name: 'relu2' },
    ],
    inits: [floatInit('w', [16, 16, 1, 1]), floatInit('b', [16])],
  });
  const { paths, id } = tools(m);
  const c1: number[] = [];
  assert.equal(paths.hasPath(id('relu'), ['Relu', 'BiasAdd', 'ConstMul', 'Conv'], false, [], c1), true);
  assert.deepEqual(c1, [id('relu'), id('bias'), id('conv')]);
  assert.equal(paths.hasPath(id('relu'), ['Relu', 'Conv'], false), false);
  const c2: number[] = [];
  assert.equal(paths.hasPath(id('relu'), ['Relu', 'Relu'], true, ['Cast'], c2), true);
  // [quirk] a second call does not see the first call's nodes
  assert.deepEqual(c2, [id('relu'), id('relu2')]);
  assert.equal(paths.hasPath(id('relu'), ['Relu', 'Relu'], true), false);
});

test('[quirk] lowest common ancestor is the one with the smallest total BFS distance', () => {
  // x → a → b → c ; a → d ; c and d meet at a (distance 2+1), not at any farther ancestor
  const m = buildModel({
    nodes: [
      { op: 'Relu', in: ['x'], out: ['r0'], name: 'r0' },
      { op: 'Relu', in: ['r0'], out: ['a'], name: 'a' },
      { op: 'Relu', in: ['a'], out: ['b'], name: 'b' },
      { op: 'Relu', in: ['b'], out: ['c'], name: 'c' },
      { op: 'Relu', in: ['a'], out: ['d'], name: 'd' },
      { op: 'Relu', in: ['x'], out: ['z'], name: 'z' },
    ],
  });
  const { g, id } = tools(m);
  assert.deepEqual(lowestCommonAncestor(g, id('c'), id('d')), [id('a'), 2, 1]);
  assert.deepEqual(lowestCommonAncestor(g, id('c'), id('b')), [id('b'), 1, 0]);
  assert.deepEqual(lowestCommonAncestor(g, id('c'), id('z')), [-1, -1, -1]);
});

test('non-residual Add input is the branch with the Conv backbone', () => {
  const m = residualBlock();
  const { g, consts, bb, id } = tools(m);
  assert.equal(bb.of(id('bn2')), id('conv2'));
  assert.equal(bb.of(id('relu1')), id('conv1'));
  const map = buildNonResidualMap(g, consts, bb);
  assert.equal(g.tensorNames[map[id('add')]!], 'b2');
  assert.equal(map[id('bn2')], -1);
});

test('INT8 on a residual block: CASK heads, partial Add, output-layer Gemm kept, decisions with rules', () => {
  const r = analyze(residualBlock(), { quantizeMode: 'int8' });
  const rule = Object.fromEntries(r.decisions.map((d) => [d.node, `${d.quantized ? '+' : '-'}${d.rule}`]));
  assert.deepEqual(rule, {
    stem: '-not-quantizable-type',
    conv1: '+cask-head',
    bn1: '-cask-internal',
    relu1: '-cask-internal',
    conv2: '+cask-head',
    bn2: '-cask-internal',
    add: '+cask-partial',
    relu2: '-not-quantizable-type',
    pool: '+remaining',
    flatten: '-not-quantizable-type',
    fc: '+cask-head',
  });
  assert.deepEqual(r.quantizableNodes, ['conv1', 'conv2', 'add', 'pool', 'fc']);
  assert.deepEqual(r.noQuantizeEdges, [{ producer: 'bn2', consumer: 'add', tensor: 'b2' }]);
  // Q/DQ goes on r0 (conv1 and the residual input of add), r1, r2 (pool), f (fc), and on b2 until the
  // no-quantize edge bn2→add removes it again: all of them need a calibrated range
  assert.deepEqual([...r.tensorsToCalibrate].sort(), ['b2', 'f', 'r0', 'r1', 'r2']);
  assert.deepEqual(r.predictedQuantizedNodes, ['conv1', 'conv2', 'add', 'pool', 'fc']);
  assert.equal(r.opTypeCounts.Conv, 2);
  assert.ok(r.partitions!.some((p) => p.kind === 'cask' && p.nodes.join() === 'conv2,bn2,add'));
});

test('exclusions: by name pattern (anchored at the start), by op type, and FP8 unpaddable convs', () => {
  const byName = analyze(residualBlock(), { quantizeMode: 'int8', nodesToExclude: ['conv'], opTypesToExclude: ['Gemm'] });
  const d = Object.fromEntries(byName.decisions.map((x) => [x.node, x.rule]));
  assert.equal(d.conv1, 'excluded-name');
  assert.equal(d.conv2, 'excluded-name');
  assert.equal(d.fc, 'excluded-op-type');
  assert.deepEqual(byName.quantizableNodes, ['add', 'pool']);
  const notAnchored = analyze(residualBlock(), { quantizeMode: 'int8', nodesToExclude: ['onv'] });
  assert.ok(notAnchored.quantizableNodes.includes('conv1'));
  // 16 channels: Cout mod 16 = Cin mod 16 = 0 → paddable (the partially quantizable Add is kept whatever its type)
  assert.deepEqual(analyze(residualBlock(16), { quantizeMode: 'fp8' }).quantizableNodes, ['conv1', 'conv2', 'add', 'fc']);
  // 24 channels: 24 mod 16 = 8 on both sides → still paddable (the remainders are compared with each other)
  assert.deepEqual(analyze(residualBlock(24), { quantizeMode: 'fp8' }).quantizableNodes, ['conv1', 'conv2', 'add', 'fc']);
  const m = buildModel({
    nodes: [{ op: 'Conv', in: ['x', 'w'], out: ['y'], name: 'odd' }],
    inits: [floatInit('w', [24, 16, 1, 1])],
    inputs: [valueInfo('x', [1, 16, 4, 4])],
    outputs: ['y'],
  });
  const fp8 = analyze(m, { quantizeMode: 'fp8' });
  assert.deepEqual(fp8.quantizableNodes, []);
  assert.equal(fp8.decisions[0]!.rule, 'fp8-unpaddable-conv');
  assert.equal(analyze(m, { quantizeMode: 'int8' }).quantizableNodes.length, 1);
});

test('patterns: GELU, written-out LayerNorm and MatMul→MatMul are never auto-quantized', () => {
  const m = buildModel({
    nodes: [
      { op: 'ReduceMean', in: ['x'], out: ['m'], name: 'ln_mean' },
      { op: 'Sub', in: ['x', 'm'], out: ['d'], name: 'ln_sub' },
      { op: 'Pow', in: ['d', 'two'], out: ['p'], name: 'ln_pow' },
      { op: 'ReduceMean', in: ['p'], out: ['v'], name: 'ln_var' },
      { op: 'Add', in: ['v', 'eps'], out: ['ve'], name: 'ln_eps' },
      { op: 'Sqrt', in: ['ve'], out: ['s'], name: 'ln_sqrt' },
      { op: 'Div', in: ['d', 's'], out: ['n'], name: 'ln_div' },
      { op: 'Mul', in: ['n', 'g'], out: ['ng'], name: 'ln_mul' },
      { op: 'Add', in: ['ng', 'b'], out: ['h'], name: 'ln_add' },
      { op: 'MatMul', in: ['h', 'w1'], out: ['q'], name: 'q' },
      { op: 'MatMul', in: ['q', 'h'], out: ['qk'], name: 'qk' },
      { op: 'Div', in: ['qk', 'sqrt2'], out: ['g1'], name: 'gelu_div' },
      { op: 'Erf', in: ['g1'], out: ['g2'], name: 'gelu_erf' },
      { op: 'Add', in: ['g2', 'one'], out: ['g3'], name: 'gelu_add' },
      { op: 'Mul', in: ['qk', 'g3'], out: ['g4'], name: 'gelu_mul' },
      { op: 'Mul', in: ['g4', 'half'], out: ['y'], name: 'gelu_mul2' },
    ],
    inits: ['two', 'eps', 'sqrt2', 'one', 'half'].map((n) => floatInit(n, [])).concat([floatInit('g', [16]), floatInit('b', [16]), floatInit('w1', [16, 16])]),
    inputs: [valueInfo('x', [1, 16])],
    outputs: ['y'],
  });
  const r = analyze(m, { quantizeMode: 'int8' });
  const rule = Object.fromEntries(r.decisions.map((d) => [d.node, d.rule]));
  for (const n of ['ln_mean', 'ln_sub', 'ln_pow', 'ln_var', 'ln_eps', 'ln_sqrt', 'ln_div', 'ln_mul', 'ln_add']) assert.equal(rule[n], 'pattern-layernorm', n);
  for (const n of ['gelu_div', 'gelu_erf', 'gelu_add', 'gelu_mul', 'gelu_mul2']) assert.equal(rule[n], 'pattern-gelu', n);
  assert.equal(rule.q, 'pattern-mha');
  assert.equal(rule.qk, 'pattern-mha');
  assert.deepEqual(r.quantizableNodes, []);
});

test('nodes_to_quantize patterns replace the selection; INT4 picks Gemm/MatMul with initializer weights', () => {
  const r = analyze(residualBlock(), { quantizeMode: 'int8', nodesToQuantize: ['conv'] });
  assert.deepEqual(r.quantizableNodes, ['conv1', 'conv2']);
  const m = buildModel({
    nodes: [
      { op: 'MatMul', in: ['x', 'w'], out: ['a'], name: 'mm' },
      { op: 'MatMul', in: ['a', 'a'], out: ['b'], name: 'act' },
      { op: 'Gemm', in: ['b', 'w2', 'bias'], out: ['y'], name: 'gemm' },
    ],
    inits: [floatInit('w', [16, 16]), floatInit('w2', [16, 16]), floatInit('bias', [16])],
    inputs: [valueInfo('x', [4, 16])],
    outputs: ['y'],
  });
  const i4 = analyze(m, { quantizeMode: 'int4_awq_clip' });
  assert.deepEqual(i4.quantizableNodes, ['mm', 'gemm']);
  assert.deepEqual(i4.tensorsToCalibrate, ['x', 'b']);
});

test('analyze rejects bad graphs with InvalidArgument and accepts a prepared real-world shape', () => {
  const cyc = buildModel({ nodes: [{ op: 'Relu', in: ['b'], out: ['a'], name: 'n1' }, { op: 'Relu', in: ['a'], out: ['b'], name: 'n2' }] });
  assert.throws(() => analyze(cyc), InvalidArgument);
  assert.throws(() => analyze(residualBlock(), { quantizeMode: 'int9' as never }), InvalidArgument);
  assert.throws(() => analyze(residualBlock(), { nodesToExclude: ['('] }), InvalidArgument);
  const m = residualBlock();
  prepare(m);
  assert.equal(analyze(m).quantizableNodes.length, 5);
});
