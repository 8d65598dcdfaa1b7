import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cudaAvailable, cudaDevices, cudaUnavailableReason, kernelsOn, resolveDevice, CUDA_KERNELS } from './device.js';
import { isNativeAvailable, native } from './index.js';

test('device selection: auto falls back to the CPU without a GPU, cpu is always cpu', () => {
  assert.equal(resolveDevice('cpu'), 'cpu');
  const gpu = cudaAvailable();
  assert.equal(resolveDevice('auto'), gpu ? 'cuda' : 'cpu');
  if (gpu) {
    assert.equal(resolveDevice('cuda'), 'cuda');
    assert.ok(cudaDevices().length > 0);
    assert.equal(cudaUnavailableReason(), '');
  } else {
    assert.throws(() => resolveDevice('cuda'), /CUDA is unavailable/);
    assert.ok(cudaUnavailableReason().length > 0);
    assert.deepEqual(cudaDevices(), []);
  }
  assert.throws(() => resolveDevice('tpu' as never), /device must be cpu, cuda or auto/);
});

test('kernelsOn exposes the whole contract, with the CUDA-routed subset named', async () => {
  const k = kernelsOn('auto');
  for (const name of Object.keys(native)) assert.equal(typeof (k as unknown as Record<string, unknown>)[name], 'function', name);
  assert.ok(CUDA_KERNELS.includes('awqClipSearch'));
  if (!isNativeAvailable()) return;
  // same results on the chosen device as on the CPU addon (bit for bit)
  const x = new Float32Array(4099);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.37) * 3 + (i % 7) * 0.01;
  const cpuK = kernelsOn('cpu');
  assert.equal(cpuK.device, 'cpu');
  const [a, b] = await Promise.all([k.fakeQuantInt(x, 2.5, { numBits: 8, narrow: true }), cpuK.fakeQuantInt(x, 2.5, { numBits: 8, narrow: true })]);
  assert.deepEqual(Buffer.from(a.buffer), Buffer.from(b.buffer));
  const [ea, eb] = await Promise.all([k.e4m3Encode(x), cpuK.e4m3Encode(x)]);
  assert.deepEqual(ea, eb);
  await assert.rejects(() => k.fakeQuantInt(x, -1), /amax must be non-negative/);
});
