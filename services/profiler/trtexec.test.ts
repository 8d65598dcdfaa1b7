import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { parseTrtexecLog, scanFloat, parseStatList } from './trtexec-log.js';
import { mapTrtLayers, groupSplit, foldReformatters, readTrtProfile, TrtLayerMapper } from './trt-layers.js';
import { InvalidArgument } from '../core/errors.js';

const fixture = (name: string) => fs.readFileSync(new URL(`../../test/fixtures/trtexec/${name}`, import.meta.url), 'utf8');
const invalid = (re: RegExp) => (err: unknown) => err instanceof InvalidArgument && re.test(err.message);

test('scanf-style numbers', () => {
  assert.equal(scanFloat('805.243 qps'), 805.243);
  assert.equal(scanFloat('5120 bits (ECC enabled)'), 5120);
  assert.equal(scanFloat('.5 s'), 0.5);
  assert.equal(scanFloat('-1.5e-3 ms'), -0.0015);
  assert.equal(scanFloat('+7.'), 7);
  assert.equal(scanFloat('9.0'), 9);
  assert.equal(scanFloat('GHz'), undefined);
});

test('stat lists split on "," then "=", in the order min,max,mean,median,p90,p95,p99', () => {
  const l = parseStatList('Latency', 'min = 1 ms, max = 7 ms, mean = 3 ms, median = 2 ms, percentile(90%) = 4 ms, percentile(95%) = 5 ms, percentile(99%) = 6 ms');
  assert.deepEqual(l.values, [1, 7, 3, 2, 4, 5, 6]);
  assert.equal(l.max, 7);
  assert.equal(l.p99, 6);
  assert.throws(() => parseStatList('Latency', 'min 1 ms'), invalid(/"Latency" entry "min 1 ms"/));
});

test('build log: model and build options', () => {
  const log = parseTrtexecLog(fixture('build.log'), 'build');
  assert.equal(log.modelOptions.text['Format'], 'ONNX');
  assert.equal(log.modelOptions.text['Model'], 'resnet50.quant.onnx');
  assert.equal('Output' in log.modelOptions.text, false, '"Output:" has no ": " so it is not a record');
  assert.equal(log.buildOptions.text['Precision'], 'FP32+FP16+BF16+INT8+FP8');
  assert.equal(log.buildOptions.text['avgTiming'], '1');
  assert.equal(log.buildOptions.text['timingCacheFile'], 'timing.cache');
  // "Memory Pools: workspace: 256 MiB, …" keeps only the first two ": " pieces
  assert.equal(log.buildOptions.text['Memory Pools'], 'workspace');
  // prefixed lines keep the section open, so later options land in it too (the reference's rule)
  assert.equal(log.buildOptions.text['Iterations'], '10');
  // model options do not leak into build options and vice versa
  assert.equal('Precision' in log.modelOptions.text, false);
  assert.equal('Format' in log.buildOptions.text, false);
});

test('profile log: summary, inference options, device information', () => {
  const log = parseTrtexecLog(fixture('profile.log'), 'profile');
  const ps = log.performanceSummary;
  assert.equal(ps.numbers['Throughput'], 805.243);
  assert.equal(ps.numbers['Total Host Walltime'], 0.124186);
  assert.equal(ps.numbers['Total GPU Compute Time'], 0.0971637);
  assert.deepEqual(ps.lists['Latency']!.values, [1.21216, 1.29736, 1.23112, 1.22754, 1.24609, 1.25537, 1.29736]);
  assert.equal(ps.lists['GPU Compute Time']!.median, 0.968704);
  assert.equal(ps.lists['H2D Latency']!.p95, 0.254883);
  assert.equal(ps.lists['D2H Latency']!.min, 0.00805664);
  assert.equal(ps.lists['Enqueue Time']!.p99, 0.130859);
  assert.equal(log.latencyMs, 1.23112, 'mean, as intended');
  assert.equal(log.referenceLatencyMs, 1.29736, 'Latency[1] = max, as the reference reports');
  assert.equal(log.inferenceOptions.text['Iterations'], '100');
  assert.equal(log.inferenceOptions.text['Separate profiling'], 'Enabled');
  const dev = log.deviceInformation;
  assert.equal(dev.numbers['Compute Capability'], 9);
  assert.equal(dev.numbers['SMs'], 132);
  assert.equal(dev.numbers['Memory Bus Width'], 5120);
  assert.equal(dev.numbers['Compute Clock Rate'], 1.98);
  assert.equal(dev.numbers['Memory Clock Rate'], 2.619);
  assert.equal(dev.text['Selected Device'], 'NVIDIA H100 80GB HBM3');
});

test('section rules: prefix must begin the line; unprefixed line closes; prefixed without ": " keeps open', () => {
  const p = '[01/02/2026-10:11:12] [I] ';
  const text = [
    `${p}=== Performance summary ===`,
    `${p}Throughput: 10 qps`,
    `${p}`,
    `${p}Latency: min = 1 ms, max = 3 ms, mean = 2 ms, median = 2 ms, percentile(90%) = 3 ms, percentile(95%) = 3 ms, percentile(99%) = 3 ms`,
    `junk ${p}SMs: 4`,
    `${p}Total Host Walltime: 3 s`,
  ].join('\n');
  const log = parseTrtexecLog(text, 'profile');
  assert.equal(log.performanceSummary.numbers['Throughput'], 10);
  assert.equal(log.latencyMs, 2);
  assert.equal(log.referenceLatencyMs, 3);
  assert.equal('Total Host Walltime' in log.performanceSummary.numbers, false, 'closed by the unprefixed line');
  assert.equal(log.deviceInformation.found, false);
  // CRLF logs parse the same
  assert.equal(parseTrtexecLog(text.replaceAll('\n', '\r\n'), 'profile').latencyMs, 2);
});

test('bad inputs → InvalidArgument', () => {
  assert.throws(() => parseTrtexecLog('hello world\nnot a log', 'profile'), invalid(/not a trtexec profiling log/));
  assert.throws(() => parseTrtexecLog('hello world\nnot a log', 'build'), invalid(/not a trtexec build log/));
  assert.throws(() => parseTrtexecLog(fixture('build.log'), 'profile'), invalid(/not a trtexec profiling log/));
  const p = '[01/02/2026-10:11:12] [I] ';
  assert.throws(() => parseTrtexecLog(`${p}=== Performance summary ===\n${p}Throughput: fast`, 'profile'), invalid(/"Throughput" has no number/));
  assert.throws(() => parseTrtexecLog(`${p}=== Performance summary ===\n${p}Throughput: 5 qps`, 'profile'), invalid(/no "Latency/));
  assert.throws(
    () => parseTrtexecLog(`${p}=== Performance summary ===\n${p}Latency: min = 0 ms, max = 0 ms, mean = 0 ms`, 'profile'),
    invalid(/must be > 0/),
  );
  assert.throws(() => parseTrtexecLog(fixture('profile.log'), 'other' as 'build'), invalid(/kind must be/));
});

const NODES = [
  '/conv1/Conv', '/relu/Relu', '/maxpool/MaxPool', '/layer1/layer1.0/conv1/Conv', '/layer1/layer1.0/relu/Relu',
  '/layer1/layer1.0/conv2/Conv', '/layer1/layer1.0/Add', '/layer1/layer1.0/relu_1/Relu', '/act/Sigmoid', '/act/Mul',
  '/head/fc1/MatMul', '/head/relu/Relu', '/head/fc2/MatMul', '/avgpool/GlobalAveragePool', 'Flatten_493', '/fc/Gemm',
];

test('layerwise: fixture profile maps onto ONNX nodes', () => {
  const m = mapTrtLayers(fixture('profile.json'), NODES);
  const close = (k: string, v: number) => {
    assert.ok(m.has(k), `missing key ${k}; have ${[...m.keys()].join(' | ')}`);
    assert.ok(Math.abs(m.get(k)! - v) < 1e-9, `${k}: ${m.get(k)} ≠ ${v}`);
  };
  close('/conv1/Conv + /relu/Relu', 0.0073 + 0.0326); // input reformatter folded in (" to ")
  close('/maxpool/MaxPool', 0.0102);
  close('/layer1/layer1.0/conv1/Conv + /layer1/layer1.0/relu/Relu', 0.016); // longest name wins over /relu/Relu
  close('/layer1/layer1.0/conv2/Conv + /layer1/layer1.0/Add + /layer1/layer1.0/relu_1/Relu', 0.0244);
  close('/act/Sigmoid + /act/Mul', 0.006); // nested PWN
  close('/head/fc1/MatMul + /head/relu/Relu + /head/fc2/MatMul', 0.012); // "a: b" then " + " then "a -> b"
  close('Flatten_493', 0.002); // onnx:: stripped, unnamed shuffle dropped
  close('/fc/Gemm', 0.008 + 0.001); // output reformatter folded into the part before
  close('output_data', 0.003);
  close('other', 0.001);
  assert.equal(m.size, 11);
  const total = [...m.values()].reduce((a, b) => a + b, 0);
  const expected = readTrtProfile(fixture('profile.json')).reduce((a, l) => a + l.averageMs, 0);
  assert.ok(Math.abs(total - expected) < 1e-9, 'no time is lost');
});

test('layerwise: without node names, leaves keep their raw names', () => {
  const m = mapTrtLayers(fixture('profile.json'), []);
  assert.ok(m.has('/maxpool/MaxPool'));
  assert.ok(m.has('(Unnamed Layer* 131) [Constant]'));
  assert.ok(m.has('output_data'));
  assert.ok(m.has('/head/fc1/MatMul + /head/relu/Relu + /head/fc2/MatMul'));
});

test('layerwise: group split honours parentheses; reformatter folding', () => {
  assert.deepEqual(groupSplit('Add_586 + (Unnamed Layer* 11) [Shuffle] + Add_43', '+'), ['Add_586', '(Unnamed Layer* 11) [Shuffle]', 'Add_43']);
  assert.deepEqual(groupSplit('PWN(a, b), c', ','), ['PWN(a, b)', 'c']);
  const f = foldReformatters([
    { name: 'Conv_0', averageMs: 1 },
    { name: 'Conv_0 input reformatter 0', averageMs: 0.5 },
    { name: 'Reformatting CopyNode for Input Tensor 0 to Relu_1', averageMs: 0.25 },
  ]);
  assert.deepEqual([...f.entries()], [['Conv_0', 1.5], ['Relu_1', 0.25]]);
});

test('layerwise: "a -> b" with a fused a does not crash', () => {
  const mapper = new TrtLayerMapper(['Conv_0', 'Relu_1', 'Conv_2', 'Relu_3', 'Conv_4']);
  assert.deepEqual(mapper.map('Conv_0 -> Conv_2'), ['Conv_0', 'Relu_1', 'Conv_2']);
  // "a" fused without spaces: the reference's list.index raises; we span from a's first node
  assert.deepEqual(mapper.map('Conv_0+Relu_1 -> Conv_4'), ['Conv_0', 'Relu_1', 'Conv_2', 'Relu_3', 'Conv_4']);
  assert.deepEqual(mapper.map('PWN(Relu_1) -> Relu_3'), ['Relu_1', 'Conv_2', 'Relu_3']);
  // unresolvable a: fall back to the parts themselves
  assert.deepEqual(mapper.map('(Unnamed Layer* 3) [Shuffle] -> Conv_4'), ['Conv_4']);
  // more than one ": " → leaf matching over the whole name
  assert.deepEqual(mapper.map('x: y: Conv_2'), ['Conv_2']);
  assert.deepEqual(mapper.map('Reformatting input data'), ['input_data']);
});

test('layerwise: JSON of the wrong shape → InvalidArgument', () => {
  assert.throws(() => mapTrtLayers('{not json', []), invalid(/not JSON/));
  assert.throws(() => mapTrtLayers('{"count": 3}', []), invalid(/expected a JSON array/));
  assert.throws(() => mapTrtLayers('[{"count":1}, 5]', []), invalid(/element 1 is not an object/));
  assert.throws(() => mapTrtLayers('[{"count":1}, {"averageMs": 1}]', []), invalid(/no string "name"/));
  assert.throws(() => mapTrtLayers('[{"count":1}, {"name": "x", "averageMs": "1"}]', []), invalid(/finite number "averageMs"/));
  assert.equal(mapTrtLayers('[{"count": 0}]', NODES).size, 0);
});
