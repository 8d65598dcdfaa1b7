/** A service's main.ts as its own process: listens, answers health, serves metrics, stops on SIGTERM. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkHealth } from '../../services/core/grpc/client.js';
import { ServingStatus } from '../../services/core/grpc/health.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

test('services/profiler/main.ts serves health and metrics, exits 0 on SIGTERM', { timeout: 60_000 }, async () => {
  const metricsPort = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/profiler/main.ts', '--port', '0', '--host', '127.0.0.1'], {
    cwd: ROOT,
    env: { ...process.env, MODELOPT_METRICS_PORT: String(metricsPort), MODELOPT_LOG_LEVEL: 'info', MODELOPT_NATS_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const t0 = Date.now();
    let line: { port?: number; msg?: string } | undefined;
    while (!line) {
      assert.ok(Date.now() - t0 < 30_000, `not listening after 30 s: ${err}`);
      line = err
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { port?: number; msg?: string; name?: string })
        .find((l) => l.msg?.startsWith('profiler listening on'));
      if (!line) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(line.port && line.port > 0);
    assert.equal(await checkHealth(`127.0.0.1:${line.port}`, 'modelopt.v1.ProfilerService'), ServingStatus.SERVING);
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(metrics, /modelopt_grpc_server_handled_total\{service="grpc.health.v1.Health",method="Check",code="OK"\} 1/);
    assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status, 200);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, err);
    assert.match(err, /"msg":"stopped"/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('a bad configuration stops the process with exit code 2 and a clear message', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'services/calibrator/main.ts', '--metrics-port', '99999'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /calibrator: configuration error: option --metrics-port: port must be in 0\.\.65535, got 99999/);
});
