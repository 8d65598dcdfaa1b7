/**
 * Find a NATS server with JetStream for tests.
 *
 * Order (MODELOPT_TEST_NATS=auto, the default):
 *   1. $NATS_URL, if set (must answer and have JetStream)
 *   2. 127.0.0.1:4222, if it answers and has JetStream
 *   3. a private `nats-server -js` (/usr/sbin/nats-server or on PATH) on a free port with a temp store
 *   4. a testcontainers NATS container (@testcontainers/nats), when a Docker engine answers
 * MODELOPT_TEST_NATS=env|local|binary|container forces one branch.
 * If nothing works, getNats() throws an error listing every attempt and why it failed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdtemp, rm, stat } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { connect } from 'nats';

export type NatsSource = 'env' | 'local' | 'binary' | 'container';

export interface TestNats {
  /** connection URL, e.g. nats://127.0.0.1:4222 */
  url: string;
  /** which discovery branch produced it */
  source: NatsSource;
  /** stop what this call started (no-op for servers found running) */
  stop(): Promise<void>;
}

const LOCAL_URL = 'nats://127.0.0.1:4222';

/** Connect, check JetStream is enabled, disconnect. Throws with a reason otherwise. */
export async function probeJetStream(url: string, timeoutMs = 2000): Promise<void> {
  const nc = await connect({ servers: url, timeout: timeoutMs, reconnect: false, maxReconnectAttempts: 0 });
  try {
    const jsm = await nc.jetstreamManager({ timeout: timeoutMs });
    await jsm.getAccountInfo();
  } finally {
    await nc.close();
  }
}

export async function findNatsServerBinary(): Promise<string | undefined> {
  const candidates = ['/usr/sbin/nats-server', ...(process.env['PATH'] ?? '').split(delimiter).filter(Boolean).map((d) => join(d, 'nats-server'))];
  for (const c of candidates) {
    try {
      await access(c, fsConstants.X_OK);
      if ((await stat(c)).isFile()) return c;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

/** Start a private nats-server with JetStream on a free port and a temp store dir. */
export async function startNatsServerBinary(binary?: string): Promise<TestNats> {
  const bin = binary ?? (await findNatsServerBinary());
  if (!bin) throw new Error('no nats-server binary at /usr/sbin/nats-server or on PATH');
  const storeDir = await mkdtemp(join(tmpdir(), 'modelopt-nats-'));
  const port = await freePort();
  const url = `nats://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(bin, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let exited = false;
  const exitPromise = new Promise<void>((res) => child.once('exit', () => { exited = true; res(); }));
  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exitPromise;
      clearTimeout(timer);
    }
    await rm(storeDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    if (exited) break;
    try {
      await probeJetStream(url, 1000);
      // never leave the child behind if the test process dies without calling stop()
      child.unref();
      process.once('exit', () => { if (!exited) child.kill('SIGKILL'); });
      return { url, source: 'binary', stop };
    } catch (err) {
      lastErr = err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await stop();
  throw new Error(`nats-server ${bin} did not come up on ${url}: ${exited ? `exited; stderr: ${stderr.trim()}` : String(lastErr)}`);
}

/** Does a Docker engine answer /_ping on $DOCKER_HOST (unix or tcp) or /var/run/docker.sock? */
export async function dockerEngineAnswers(timeoutMs = 1500): Promise<boolean> {
  const host = process.env['DOCKER_HOST'];
  let opts: { socketPath?: string; host?: string; port?: number };
  if (!host) opts = { socketPath: '/var/run/docker.sock' };
  else if (host.startsWith('unix://')) opts = { socketPath: host.slice('unix://'.length) };
  else {
    const u = new URL(host.replace(/^tcp:/, 'http:'));
    opts = { host: u.hostname, port: Number(u.port || 2375) };
  }
  return new Promise((res) => {
    const req = request({ ...opts, path: '/_ping', method: 'GET', timeout: timeoutMs }, (resp) => {
      resp.resume();
      res(resp.statusCode === 200);
    });
    req.on('error', () => res(false));
    req.on('timeout', () => { req.destroy(); res(false); });
    req.end();
  });
}

export async function startNatsContainer(): Promise<TestNats> {
  if (!(await dockerEngineAnswers())) {
    throw new Error(`no Docker engine answered at ${process.env['DOCKER_HOST'] ?? 'unix:///var/run/docker.sock'}`);
  }
  const { NatsContainer } = await import('@testcontainers/nats');
  const started = await new NatsContainer('nats:2.10-alpine').withJetStream().start();
  const o = started.getConnectionOptions();
  const server = Array.isArray(o.servers) ? o.servers[0] : o.servers;
  const hostPort = String(server ?? '').replace(/^nats:\/\//, '');
  const creds = o.user ? `${encodeURIComponent(o.user)}:${encodeURIComponent(o.pass ?? '')}@` : '';
  const url = `nats://${creds}${hostPort}`;
  await probeJetStream(url, 5000);
  return { url, source: 'container', stop: async () => { await started.stop(); } };
}

const noop = async (): Promise<void> => undefined;

/** See the module comment. */
export async function getNats(): Promise<TestNats> {
  const mode = (process.env['MODELOPT_TEST_NATS'] ?? 'auto').toLowerCase();
  const allowed = ['auto', 'env', 'local', 'binary', 'container'];
  if (!allowed.includes(mode)) throw new Error(`MODELOPT_TEST_NATS=${mode}: expected one of ${allowed.join(', ')}`);
  const tried: string[] = [];
  const want = (b: NatsSource): boolean => mode === 'auto' || mode === b;

  const envUrl = process.env['NATS_URL'];
  if (want('env')) {
    if (envUrl) {
      try {
        await probeJetStream(envUrl);
        return { url: envUrl, source: 'env', stop: noop };
      } catch (err) {
        tried.push(`NATS_URL=${envUrl}: ${errMsg(err)}`);
      }
    } else tried.push('NATS_URL: not set');
  }
  if (want('local')) {
    try {
      await probeJetStream(LOCAL_URL, 1000);
      return { url: LOCAL_URL, source: 'local', stop: noop };
    } catch (err) {
      tried.push(`${LOCAL_URL}: ${errMsg(err)}`);
    }
  }
  if (want('binary')) {
    try {
      return await startNatsServerBinary();
    } catch (err) {
      tried.push(`nats-server binary: ${errMsg(err)}`);
    }
  }
  if (want('container')) {
    try {
      return await startNatsContainer();
    } catch (err) {
      tried.push(`testcontainers NATS: ${errMsg(err)}`);
    }
  }
  throw new Error(`no NATS server with JetStream available (MODELOPT_TEST_NATS=${mode}); tried:\n  - ${tried.join('\n  - ')}`);
}

function errMsg(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
