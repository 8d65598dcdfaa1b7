// Checks the addon's CUDA bindings (exports.cuda) against its CPU bindings, through Node.
// Plain ESM, no TypeScript toolchain needed, so it runs on the device machine:
//   node native/cuda/addon_gpu_check.mjs [path/to/modelopt_native.node]
// Without a GPU it checks that the addon loads and reports cuda: false, and exits 0.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const path = process.argv[2] ?? join(here, '..', 'build', 'Release', 'modelopt_native.node');
if (!existsSync(path)) {
  console.error(`addon not found: ${path}`);
  process.exit(2);
}
const addon = createRequire(import.meta.url)(path);
const caps = addon.capabilities();
console.log(`capabilities: cuda=${caps.cuda} devices=${JSON.stringify(caps.devices.map((d) => `${d.kind}:${d.name}`))}`);
if (!addon.cuda) {
  console.log('addon built without CUDA');
  process.exit(caps.cuda ? 1 : 0);
}
const info = addon.cuda.info();
if (!info.available) {
  console.log(`cuda unavailable (${info.reason}); capabilities().cuda = ${caps.cuda}`);
  process.exit(caps.cuda ? 1 : 0);
}

let seed = 12345;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed / 4294967296;
};
const randn = (n, scale = 1) => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(rnd(), 1e-7);
    a[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd()) * scale;
  }
  return a;
};
const sameBytes = (a, b) => {
  if (a === b) return true;
  if (a == null || b == null) return false;
  if (typeof a === 'number') return Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
  if (ArrayBuffer.isView(a)) {
    if (a.constructor !== b.constructor || a.length !== b.length) return false;
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }
  if (typeof a === 'object') return Object.keys(a).every((k) => sameBytes(a[k], b[k]));
  return a === b;
};

let fail = 0;
const rows = [];
async function cmp(name, cpuCall, gpuCall) {
  const t0 = performance.now();
  const c = await cpuCall();
  const t1 = performance.now();
  await gpuCall(); // warm-up (module load, allocations)
  const t2 = performance.now();
  const g = await gpuCall();
  const t3 = performance.now();
  const ok = sameBytes(c, g);
  if (!ok) fail++;
  rows.push([name, ok ? 'identical' : 'DIFFERENT', (t1 - t0).toFixed(2), (t3 - t2).toFixed(2)]);
}

const n = 1 << 22;
const x = randn(n, 2);
x[7] = NaN;
x[9] = Infinity;
await cmp('amax', () => addon.amax(x), () => addon.cuda.amax(x));
await cmp('amaxPerAxis [1024,4096] keep 0', () => addon.amaxPerAxis(x, [1024, 4096], [0]), () => addon.cuda.amaxPerAxis(x, [1024, 4096], [0]));
x[9] = 1.5;
x[7] = 0.25;
await cmp('fakeQuantInt int8 per tensor', () => addon.fakeQuantInt(x, Float32Array.of(3), n, 1, 127, -128), () => addon.cuda.fakeQuantInt(x, Float32Array.of(3), n, 1, 127, -128));
const am = randn(1024, 1).map(Math.abs);
await cmp('fakeQuantInt int4 narrow axis 0', () => addon.fakeQuantInt(x, am, 4096, 1024, 7, -7), () => addon.cuda.fakeQuantInt(x, am, 4096, 1024, 7, -7));
await cmp('quantizeInt int8 axis 0', () => addon.quantizeInt(x, am, 4096, 1024, 127, -128, false), () => addon.cuda.quantizeInt(x, am, 4096, 1024, 127, -128, false));
await cmp('e4m3Encode', () => addon.e4m3Encode(x), () => addon.cuda.e4m3Encode(x));
await cmp('fakeQuantE4M3 scaled', () => addon.fakeQuantE4M3(x, 5, true), () => addon.cuda.fakeQuantE4M3(x, 5, true));
await cmp('fakeQuantE4M3 plain', () => addon.fakeQuantE4M3(x, 0, false), () => addon.cuda.fakeQuantE4M3(x, 0, false));
const cin = 1000, cout = 512;
const w = randn(cin * cout, 0.05);
await cmp('int4BlockScales', () => addon.int4BlockScales(w, cin, cout, 128, 1, null), () => addon.cuda.int4BlockScales(w, cin, cout, 128, 1, null));
const scales = await addon.int4BlockScales(w, cin, cout, 128, 0.85, null);
await cmp('int4QuantizeBlocks', () => addon.int4QuantizeBlocks(w, cin, cout, scales, 128), () => addon.cuda.int4QuantizeBlocks(w, cin, cout, scales, 128));
const q = await addon.int4QuantizeBlocks(w, cin, cout, scales, 128);
await cmp('int4DequantizeBlocks', () => addon.int4DequantizeBlocks(q, cin, cout, scales, 128), () => addon.cuda.int4DequantizeBlocks(q, cin, cout, scales, 128));
await cmp('packInt4 Int8Array', () => addon.packInt4(q, false), () => addon.cuda.packInt4(q, false));
await cmp('packInt4 Float32Array', () => addon.packInt4(x.subarray(0, 100001), false), () => addon.cuda.packInt4(x.subarray(0, 100001), false));
const T = 64;
const act = randn(T * cin, 1);
await cmp('awqClipSearch 1000x512 T=64', () => addon.awqClipSearch(w, cin, cout, act, T, 128, 64, 0, 1024), () => addon.cuda.awqClipSearch(w, cin, cout, act, T, 128, 64, 0, 1024));
const w2 = randn(1024 * 1025, 0.05), a2 = randn(100 * 1024, 1);
await cmp('awqClipSearch 1024x1025 T=100 (width-1 batch)', () => addon.awqClipSearch(w2, 1024, 1025, a2, 100, 128, 64, 0, 1024), () => addon.cuda.awqClipSearch(w2, 1024, 1025, a2, 100, 128, 64, 0, 1024));
// histograms from the CPU collectors, searches on both devices
const ort = await addon.ortHistogramCollect(null, x, 2048);
await cmp('ortEntropyThreshold (2048 bins)', () => addon.ortEntropyThreshold(ort, 128), () => addon.cuda.ortEntropyThreshold(ort, 128));
const th = await addon.torchHistogramCollect(null, x, 2048, false);
await cmp('torchEntropyAmax', () => addon.torchEntropyAmax(th, 8, false, 128, 1), () => addon.cuda.torchEntropyAmax(th, 8, false, 128, 1));
await cmp('torchMseAmax int8', () => addon.torchMseAmax(th, 8, false, 128, 1, false), () => addon.cuda.torchMseAmax(th, 8, false, 128, 1, false));
await cmp('torchMseAmax e4m3', () => addon.torchMseAmax(th, 8, false, 128, 1, true), () => addon.cuda.torchMseAmax(th, 8, false, 128, 1, true));
// GPU histogram primitive vs the CPU collector's counts
const tOrt = ort.threshold;
await cmp('histogram numpy [-T,T] 2048 (vs ortHistogramCollect)', async () => ort.hist, () => addon.cuda.histogram(x, 2048, -tOrt, tOrt, 0, false, ort.edges));
await cmp('histogram histc |x| 2048 (vs torchHistogramCollect)', async () => th.hist, () => addon.cuda.histogram(x, 2048, 0, th.edges[2048], 1, true, null));

console.log(`device: ${info.devices[0]?.name}`);
console.log('kernel'.padEnd(56), 'result'.padEnd(10), 'cpu ms'.padStart(9), 'gpu ms'.padStart(9));
for (const r of rows) console.log(r[0].padEnd(56), r[1].padEnd(10), r[2].padStart(9), r[3].padStart(9));
console.log(fail ? `${fail} kernel(s) differ` : 'all CUDA bindings bit-identical to the CPU addon');
process.exit(fail ? 1 : 0);
