/**
 * Embedded mode: all six services in one process, each on its own port (default 50051..50056),
 * sharing one logger and one metrics registry.
 */
import type { ServiceConfig } from '../core/config.js';
import type { Logger } from '../core/logging.js';
import { createMetrics, serveMetrics, type Metrics, type MetricsServer } from '../core/metrics.js';
import { createServer, type RunningServer } from '../core/grpc/server.js';
import { ServingStatus } from '../core/grpc/health.js';
import { SERVICES, type ServiceEntry } from './service-table.js';
import { createRuntime, type MeshRuntime } from '../core/runtime.js';
import { artifactService } from '../core/grpc/artifact-service.js';
import { startStageWorkers } from '../core/service-main.js';

export interface EmbeddedOptions {
  config: ServiceConfig;
  logger: Logger;
  /** Port per service name; missing names use basePort + index (basePort 0: free ports). */
  ports?: Partial<Record<ServiceEntry['name'], number>>;
  basePort?: number;
  shutdownTimeoutMs?: number;
  /** Run the services' job-plan stages from the work queues (default true; in-memory or NATS bus alike). */
  workers?: boolean;
  /** NATS only: namespace of the streams, work queues and job KV bucket (default $MODELOPT_NATS_NAMESPACE); unset in production. */
  natsNamespace?: string;
}

export interface EmbeddedMesh {
  servers: { entry: ServiceEntry; server: RunningServer }[];
  metrics: Metrics;
  runtime: MeshRuntime;
  metricsServer?: MetricsServer;
  stop(reason?: string): Promise<void>;
}

export async function startEmbedded(opts: EmbeddedOptions): Promise<EmbeddedMesh> {
  const metrics = createMetrics();
  const runtime = await createRuntime({ ...opts.config, natsNamespace: opts.natsNamespace ?? (process.env['MODELOPT_NATS_NAMESPACE'] || undefined) });
  const basePort = opts.basePort ?? 50051;
  const servers: EmbeddedMesh['servers'] = [];
  let workers: { stop(): Promise<void> } | undefined;
  try {
    for (const [i, entry] of SERVICES.entries()) {
      const port = opts.ports?.[entry.name] ?? (basePort === 0 ? 0 : basePort + i);
      const server = await createServer({
        name: entry.name,
        port,
        host: opts.config.host,
        services: [entry.create({ config: opts.config, logger: opts.logger.child({ service: entry.name }), runtime }), artifactService(runtime.artifacts)],
        logger: opts.logger,
        maxMessageBytes: opts.config.maxMessageBytes,
        metrics,
        shutdownTimeoutMs: opts.shutdownTimeoutMs,
      });
      servers.push({ entry, server });
    }
    if (opts.workers ?? true) {
      const stages = Object.fromEntries(SERVICES.filter((e) => e.stages).map((e) => [e.name, e.stages!(runtime)]));
      workers = await startStageWorkers(runtime, opts.logger, stages);
    }
  } catch (err) {
    await workers?.stop();
    await Promise.all(servers.map((s) => s.server.shutdown('startup failed')));
    await runtime.close();
    throw err;
  }
  const metricsServer = opts.config.metricsPort
    ? await serveMetrics(metrics, {
        port: opts.config.metricsPort,
        host: opts.config.host,
        healthy: () => servers.every((s) => s.server.health.get('') === ServingStatus.SERVING),
      })
    : undefined;
  let stopping: Promise<void> | undefined;
  return {
    servers,
    metrics,
    runtime,
    metricsServer,
    stop: (reason) =>
      (stopping ??= (async () => {
        await workers?.stop();
        await Promise.all(servers.map((s) => s.server.shutdown(reason)));
        await metricsServer?.close();
        await runtime.close();
      })()),
  };
}
