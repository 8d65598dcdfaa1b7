import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics, serveMetrics } from './metrics.js';

test('metrics side server serves /metrics (default + rpc metrics) and /healthz', async () => {
  const metrics = createMetrics();
  metrics.observeRpc('modelopt.v1.CalibratorService', 'Calibrate', 'OK', 0.2);
  let healthy = true;
  const srv = await serveMetrics(metrics, { port: 0, host: '127.0.0.1', healthy: () => healthy });
  try {
    const base = `http://127.0.0.1:${srv.port}`;
    const m = await fetch(`${base}/metrics`);
    assert.equal(m.status, 200);
    const text = await m.text();
    assert.match(text, /modelopt_grpc_server_handled_total\{service="modelopt.v1.CalibratorService",method="Calibrate",code="OK"\} 1/);
    assert.match(text, /modelopt_grpc_server_handling_seconds_bucket\{le="0.5",service="modelopt.v1.CalibratorService",method="Calibrate"\} 1/);
    assert.match(text, /modelopt_process_cpu_seconds_total/);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    healthy = false;
    assert.equal((await fetch(`${base}/healthz`)).status, 503);
    assert.equal((await fetch(`${base}/nope`)).status, 404);
  } finally {
    await srv.close();
  }
});
