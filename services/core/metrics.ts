/**
 * Prometheus metrics: a registry per process (default Node metrics + RPC counters/histograms),
 * served on a side HTTP port at /metrics, with /healthz for liveness probes.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  /** Finished RPCs by service, method and gRPC status code name. */
  rpcTotal: Counter<'service' | 'method' | 'code'>;
  /** RPC duration in seconds by service and method. */
  rpcDuration: Histogram<'service' | 'method'>;
  /** Observe one finished RPC. */
  observeRpc(service: string, method: string, code: string, seconds: number): void;
}

export function createMetrics(opts: { prefix?: string; defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  const prefix = opts.prefix ?? 'modelopt_';
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix });
  const rpcTotal = new Counter({
    name: `${prefix}grpc_server_handled_total`,
    help: 'RPCs completed on the server, by status code.',
    labelNames: ['service', 'method', 'code'] as const,
    registers: [registry],
  });
  const rpcDuration = new Histogram({
    name: `${prefix}grpc_server_handling_seconds`,
    help: 'RPC handling time on the server.',
    labelNames: ['service', 'method'] as const,
    buckets: [0.001, 0.005, 0.025, 0.1, 0.5, 1, 2.5, 10, 30, 120, 600],
    registers: [registry],
  });
  return {
    registry,
    rpcTotal,
    rpcDuration,
    observeRpc(service, method, code, seconds) {
      rpcTotal.inc({ service, method, code });
      rpcDuration.observe({ service, method }, seconds);
    },
  };
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Serves GET /metrics (Prometheus text) and GET /healthz (200 "ok" while `healthy()` is true,
 * 503 otherwise) on host:port (port 0 picks a free one).
 */
export async function serveMetrics(
  metrics: Metrics,
  opts: { port: number; host?: string; healthy?: () => boolean },
): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405).end();
      return;
    }
    if (url === '/metrics') {
      metrics.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err)),
      );
    } else if (url === '/healthz') {
      const ok = opts.healthy ? opts.healthy() : true;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'not serving\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
