/** A service process started with a NATS URL runs its job-plan stages from its work queue. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getNats } from '../harness/nats.js';
import { createRuntime } from '../../services/core/runtime.js';
import { NatsEventBus } from '../../services/core/events/nats-bus.js';
import type { JobEvent } from '../../services/core/events/types.js';
import { createPlan, runJob } from '../../services/core/pipeline/index.js';
import { getJson } from '../../services/core/pipeline/quantize-flow.js';
import { modelPath } from '../helpers/shared.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

test('services/graph-analyzer/main.ts with --nats-url runs prepare and analyze from modelopt.work.graph-analyzer', { timeout: 120_000 }, async () => {
  const nats = await getNats();
  const namespace = `svcw${process.pid}${randomBytes(3).toString('hex')}`;
  const storeRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'svc-workers-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/graph-analyzer/main.ts', '--port', '0', '--host', '127.0.0.1', '--nats-url', nats.url], {
    cwd: ROOT,
    env: { ...process.env, MODELOPT_NATS_NAMESPACE: namespace, MODELOPT_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const client = await createRuntime({ natsUrl: nats.url, storeRoot, natsNamespace: namespace });
  try {
    const t0 = Date.now();
    while (!/graph-analyzer stage worker on modelopt\.work\.graph-analyzer/.test(err)) {
      assert.ok(Date.now() - t0 < 60_000, `no stage worker after 60 s: ${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const model = await client.artifacts.putFile(modelPath('mnist8'), { mediaType: 'application/x-onnx' });
    const plan = createPlan({ inputs: { model }, stages: [{ name: 'prepare' }, { name: 'analyze', config: { quantizeMode: 'int8' } }] });
    const sources: string[] = [];
    const unsub = await client.bus.subscribe(`modelopt.jobs.${plan.jobId}.>`, (e: JobEvent) => void (e.kind === 'completed' && e.source && sources.push(e.source)));
    const st = await runJob(client.bus, plan, { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 200));
    await unsub();
    assert.equal(st.status, 'completed');
    const analysis = await getJson<{ quantizableNodes: string[]; tensorsToCalibrate: string[] }>(client.artifacts, st.outputs!['analysis'], 'analysis');
    assert.ok(analysis.quantizableNodes.length > 0);
    assert.ok(analysis.tensorsToCalibrate.length > 0);
    assert.ok(sources.length >= 2 && sources.every((s) => s.startsWith('graph-analyzer@')), sources.join(','));
    child.kill('SIGTERM');
    assert.equal(await exited, 0, err);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await client.close();
    const bus = await NatsEventBus.connect({ servers: nats.url, namespace, onError: () => undefined });
    await bus.destroyResources();
    await bus.close();
    await nats.stop();
    fs.rmSync(storeRoot, { recursive: true, force: true });
  }
});
