import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { zipSync } from 'fflate';
import { encodeNpy, openNpy, openNpz, readAll, parseNpyHeader } from './npy.js';
import { InvalidArgument } from './errors.js';
import { tmpDir, dataPath } from '../../test/helpers/shared.js';

const dir = tmpDir('npy-test');

function seq(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => i * 0.5 - 3);
}

test('npy: float32 array round-trips and rows are read at offsets', () => {
  const p = path.join(dir, 'a.npy');
  fs.writeFileSync(p, encodeNpy('float32', [5, 2, 3], seq(30)));
  const a = openNpy(p);
  assert.equal(a.dtype, 'float32');
  assert.deepEqual(a.shape, [5, 2, 3]);
  assert.deepEqual(Array.from(a.readRows(2, 2) as Float32Array), Array.from(seq(30).slice(12, 24)));
  assert.deepEqual(Array.from(readAll(a) as Float32Array), Array.from(seq(30)));
  a.close?.();
});

test('npz: stored and deflated entries, every supported dtype, rows streamed in order and re-read', () => {
  const f32 = seq(4 * 7);
  const i64 = BigInt64Array.from({ length: 4 }, (_, i) => BigInt(i * 1000 - 5));
  const i32 = Int32Array.from([1, -2, 3, -4]);
  const b = Uint8Array.from([1, 0, 1, 1]);
  const f16 = Uint16Array.from([0x3c00, 0x4000, 0xbc00, 0x0000]);
  const files = {
    'x.npy': encodeNpy('float32', [4, 7], f32),
    'ids.npy': encodeNpy('int64', [4], i64),
    'i.npy': encodeNpy('int32', [4, 1], i32),
    'm.npy': encodeNpy('bool', [4], b),
    'h.npy': encodeNpy('float16', [2, 2], f16),
  };
  // stored; deflated and inflated whole (the default for entries up to 64 MiB), here or in the background;
  // deflated and streamed
  for (const [level, wholeInflateMaxBytes, inflateInBackground] of [[0, undefined, false], [6, undefined, false], [6, undefined, true], [6, 0, false]] as const) {
    const p = path.join(dir, `z${level}.npz`);
    fs.writeFileSync(p, zipSync(files, { level }));
    const z = openNpz(p, { wholeInflateMaxBytes, inflateInBackground });
    assert.deepEqual([...z.keys()].sort(), ['h', 'i', 'ids', 'm', 'x']);
    const x = z.get('x')!;
    assert.deepEqual(x.shape, [4, 7]);
    assert.deepEqual(Array.from(x.readRows(0, 1) as Float32Array), Array.from(f32.slice(0, 7)));
    assert.deepEqual(Array.from(x.readRows(1, 3) as Float32Array), Array.from(f32.slice(7)));
    // going back restarts the stream and still gives the right rows
    assert.deepEqual(Array.from(x.readRows(0, 2) as Float32Array), Array.from(f32.slice(0, 14)));
    assert.deepEqual(Array.from(readAll(z.get('ids')!) as BigInt64Array), Array.from(i64));
    assert.deepEqual(Array.from(readAll(z.get('i')!) as Int32Array), Array.from(i32));
    assert.deepEqual(Array.from(readAll(z.get('m')!) as Uint8Array), Array.from(b));
    assert.equal(z.get('h')!.dtype, 'float16');
    assert.deepEqual(Array.from(readAll(z.get('h')!) as Uint16Array), Array.from(f16));
    for (const s of z.values()) s.close?.();
  }
});

test('npz: a deflated entry cut short or corrupted is InvalidArgument, inflated whole or streamed', () => {
  const x = seq(64 * 64);
  const zipped = zipSync({ 'x.npy': encodeNpy('float32', [64, 64], x) }, { level: 6 });
  // the local header and file name come first (30 + 5 bytes): damage the deflate stream after them
  const corrupt = zipped.slice();
  for (let k = 40; k < 200; k++) corrupt[k] = 0xff;
  const p = path.join(dir, 'corrupt.npz');
  fs.writeFileSync(p, corrupt);
  for (const [wholeInflateMaxBytes, inflateInBackground] of [[undefined, false], [0, false], [undefined, true]] as const) {
    assert.throws(
      () => {
        const z = openNpz(p, { wholeInflateMaxBytes, inflateInBackground });
        readAll(z.get('x')!);
      },
      (e: Error) => e instanceof InvalidArgument && /x\.npy|corrupt|truncated|invalid/i.test(e.message),
      `wholeInflateMaxBytes ${wholeInflateMaxBytes}, in the background ${inflateInBackground}`,
    );
  }
});

test('npz inflated in the background: rows read before and after it is delivered agree; a corrupt stream fails the reads, not `loaded`', async () => {
  // values from a small set: Huffman-coded blocks (random floats would be stored blocks, which carry no check)
  let seed = 7;
  const x = Float32Array.from({ length: 64 * 256 }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 20) & 15);
  const zipped = zipSync({ 'x.npy': encodeNpy('float32', [64, 256], x) }, { level: 6 });
  const p = path.join(dir, 'background.npz');
  fs.writeFileSync(p, zipped);
  const early = openNpz(p, { inflateInBackground: true }).get('x')!;
  assert.ok(early.loaded, 'a whole-inflated entry opened in the background has a `loaded` promise');
  assert.deepEqual(early.shape, [64, 256]);
  // read before the background result is delivered: inflated on the spot
  assert.deepEqual(Array.from(early.readRows(3, 2) as Float32Array), Array.from(x.slice(3 * 256, 5 * 256)));
  await early.loaded;
  assert.deepEqual(Array.from(early.readRows(60, 4) as Float32Array), Array.from(x.slice(60 * 256)));
  const late = openNpz(p, { inflateInBackground: true }).get('x')!;
  await late.loaded;
  assert.deepEqual(Array.from(readAll(late) as Float32Array), Array.from(x));
  // damage the stream well after its header (the 30-byte local header and the name come first)
  const compEnd = zipped.length - 22 - 46 - 5;
  assert.ok(compEnd > 3000, `compressed entry is ${compEnd} bytes`);
  const corrupt = zipped.slice();
  for (let k = 2000; k < compEnd - 100; k++) corrupt[k] = 0xff;
  const q = path.join(dir, 'background-corrupt.npz');
  fs.writeFileSync(q, corrupt);
  const bad = openNpz(q, { inflateInBackground: true }).get('x')!;
  assert.ok(bad.loaded, 'the header is read from the intact start of the stream');
  await bad.loaded;
  assert.throws(() => bad.readRows(0, 1), (e: Error) => e instanceof InvalidArgument && /x\.npy is truncated/.test(e.message));
});

test('npz written by numpy (savez_compressed, zip64 local headers) reads back', () => {
  const z = openNpz(dataPath('silero_vad_ifless', 'calib'));
  assert.deepEqual(z.get('input')!.shape, [64, 576]);
  assert.equal(z.get('sr')!.dtype, 'int64');
  assert.equal((z.get('sr')!.readRows(0, 1) as BigInt64Array)[0], 16000n);
  assert.deepEqual(z.get('state')!.shape, [128, 1, 128]);
  const rows = z.get('input')!.readRows(63, 1) as Float32Array;
  assert.equal(rows.length, 576);
  assert.ok(rows.every((v) => v >= -1 && v <= 1));
});

test('unsupported dtype, Fortran order and non-npy bytes are InvalidArgument naming the problem', () => {
  const hdr = (descr: string, fortran: string) => {
    const h = `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': (2,), }`.padEnd(117, ' ') + '\n';
    return Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, h.length & 0xff, h.length >> 8, ...Buffer.from(h, 'latin1')]);
  };
  assert.throws(() => parseNpyHeader(hdr('<f8', 'False'), 'f64'), (e: Error) => e instanceof InvalidArgument && /<f8/.test(e.message));
  assert.throws(() => parseNpyHeader(hdr('>f4', 'False'), 'be'), (e: Error) => e instanceof InvalidArgument && />f4/.test(e.message));
  assert.throws(() => parseNpyHeader(hdr('<f4', 'True'), 'fo'), (e: Error) => e instanceof InvalidArgument && /Fortran/.test(e.message));
  const p = path.join(dir, 'bad.npy');
  fs.writeFileSync(p, 'hello world, not numpy');
  assert.throws(() => openNpy(p), InvalidArgument);
  const q = path.join(dir, 'bad.npz');
  fs.writeFileSync(q, 'not a zip at all');
  assert.throws(() => openNpz(q), InvalidArgument);
  const t = path.join(dir, 'trunc.npy');
  fs.writeFileSync(t, encodeNpy('float32', [10], seq(10)).slice(0, 100));
  assert.throws(() => openNpy(t), (e: Error) => e instanceof InvalidArgument && /truncated/.test(e.message));
});
