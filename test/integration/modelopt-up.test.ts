/**
 * `modelopt up` as a child process: six SERVING services, `modelopt status` agrees, and SIGTERM
 * shuts everything down cleanly (exit code 0, ports closed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkHealth } from '../../services/core/grpc/client.js';
import { ServingStatus } from '../../services/core/grpc/health.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'modelopt.js');

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

test('modelopt up serves six SERVING services and exits cleanly on SIGTERM', { timeout: 60_000 }, async () => {
  const child = spawn(process.execPath, [BIN, 'up', '--base-port', '0', '--host', '127.0.0.1', '--log-level', 'warn'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  try {
    const t0 = Date.now();
    while (!out.includes('ready\n')) {
      assert.ok(Date.now() - t0 < 30_000, `no "ready" after 30 s; stdout=${out} stderr=${err}`);
      assert.equal(child.exitCode, null, `exited early: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const rows = out.split('\n').filter((l) => l.includes('\t') && l.includes('modelopt.v1.')).map((l) => l.split('\t') as [string, string, string]);
    assert.deepEqual(rows.map((r) => r[0]), ['graph-analyzer', 'calibrator', 'quantizer', 'exporter', 'trt-builder', 'profiler']);
    const ports = rows.map((r) => Number(r[1].split(':')[1]));
    assert.equal(new Set(ports).size, 6);
    for (const [, address, grpcName] of rows) assert.equal(await checkHealth(address, grpcName), ServingStatus.SERVING, grpcName);

    const portFlags = rows.flatMap(([name, address]) => [`--${name}-port`, address.split(':')[1]!]);
    const status = spawnSync(process.execPath, [BIN, 'status', ...portFlags], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    assert.equal(status.status, 0, status.stdout + status.stderr);
    assert.equal(status.stdout.trim().split('\n').filter((l) => / SERVING$/.test(l)).length, 6, status.stdout);

    child.kill('SIGTERM');
    const { code, signal } = await exited;
    assert.equal(signal, null);
    assert.equal(code, 0, err);
    assert.match(out, /stopped\n$/);
    for (const p of ports) assert.equal(await portOpen(p), false, `port ${p} still open`);

    // With the mesh gone, status reports UNREACHABLE and fails.
    const after = spawnSync(process.execPath, [BIN, 'status', ...portFlags, '--timeout-ms', '500'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    assert.equal(after.status, 1);
    assert.equal(after.stdout.split('\n').filter((l) => l.includes('UNREACHABLE')).length, 6, after.stdout);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

test('modelopt rejects unknown commands and bad flags with exit code 2', () => {
  const bad = spawnSync(process.execPath, [BIN, 'frobnicate'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown command "frobnicate"/);
  const badFlag = spawnSync(process.execPath, [BIN, 'up', '--device', 'tpu'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(badFlag.status, 2);
  assert.match(badFlag.stderr, /device must be one of cpu\|cuda\|auto, got "tpu"/);
});
