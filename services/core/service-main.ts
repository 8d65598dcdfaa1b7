/**
 * Shared process entry for one service: parse configuration (env + flags), create the logger and
 * metrics, start the gRPC server (health, reflection, graceful shutdown on SIGTERM/SIGINT) and the
 * metrics side server, and log the port.
 *
 *   await runServiceMain({ name: 'calibrator', defaultPort: 50052, build: (deps) => [calibratorService(deps)] });
 */
import { loadConfig, ConfigError, type ServiceConfig } from './config.js';
import { createLogger, type Logger } from './logging.js';
import { createMetrics, serveMetrics, type Metrics } from './metrics.js';
import { createServer, type RunningServer } from './grpc/server.js';
import type { ServiceRegistration } from './grpc/handlers.js';
import { ServingStatus } from './grpc/health.js';
import { createRuntime, type MeshRuntime } from './runtime.js';
import { artifactService } from './grpc/artifact-service.js';
import { startWorkers, type StageHandler } from './pipeline/runner.js';

/** What every service's handlers receive; services extend it with their own dependencies. */
export interface ServiceDeps {
  config: ServiceConfig;
  logger: Logger;
  /** Artifact store and event bus shared by the process's handlers. */
  runtime: MeshRuntime;
}

/** The six services and their default ports (embedded mode uses the same ports). */
export const SERVICE_PORTS = {
  'graph-analyzer': 50051,
  calibrator: 50052,
  quantizer: 50053,
  exporter: 50054,
  'trt-builder': 50055,
  profiler: 50056,
} as const;
export type ServiceName = keyof typeof SERVICE_PORTS;

export interface ServiceMainOptions {
  name: string;
  defaultPort: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  build: (deps: ServiceDeps) => ServiceRegistration<any>[];
  argv?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Job-plan stages of this service; with a NATS URL configured, a StageWorker runs them from `modelopt.work.<name>`. */
  stages?: (runtime: MeshRuntime) => Record<string, StageHandler>;
}

/**
 * Ack deadline of stage work. Workers extend it while a stage runs, but synchronous graph passes
 * on large models can hold the event loop for tens of seconds; a longer deadline keeps that from
 * looking like a dead worker (which would hand the stage to another replica).
 */
export const STAGE_ACK_WAIT_MS = 120_000;

/** Starts the StageWorkers of the given services on the runtime's bus (logging through `logger`). */
export async function startStageWorkers(runtime: MeshRuntime, logger: Logger, services: Record<string, Record<string, StageHandler>>): Promise<{ stop(): Promise<void> }> {
  return startWorkers(
    { bus: runtime.bus, store: runtime.artifacts, consume: { ackWaitMs: STAGE_ACK_WAIT_MS }, log: (level, msg, fields) => logger[level](fields ?? {}, msg) },
    services,
  );
}

export interface StartedService {
  server: RunningServer;
  metrics: Metrics;
  metricsPort: number | undefined;
  stop(): Promise<void>;
}

/** Starts one service as a process: returns once listening. Exits the process on a config error. */
export async function runServiceMain(opts: ServiceMainOptions): Promise<StartedService> {
  let config: ServiceConfig;
  try {
    config = loadConfig({ argv: opts.argv, env: opts.env, defaults: { port: opts.defaultPort } }).config;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${opts.name}: configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger({ name: opts.name, level: config.logLevel });
  const metrics = createMetrics();
  // MODELOPT_NATS_NAMESPACE isolates streams, work queues and the job bucket (tests, tenants)
  const runtime = await createRuntime({ ...config, natsNamespace: (opts.env ?? process.env)['MODELOPT_NATS_NAMESPACE'] || undefined });
  const server = await createServer({
    name: opts.name,
    port: config.port,
    host: config.host,
    services: [...opts.build({ config, logger, runtime }), artifactService(runtime.artifacts)],
    logger,
    maxMessageBytes: config.maxMessageBytes,
    metrics,
    handleSignals: true,
  });
  const stages = opts.stages && config.natsUrl ? { [opts.name]: opts.stages(runtime) } : undefined;
  const workers = stages ? await startStageWorkers(runtime, logger, stages) : undefined;
  if (stages) logger.info({ stages: Object.keys(stages[opts.name]!) }, `${opts.name} stage worker on modelopt.work.${opts.name}`);
  const side = config.metricsPort
    ? await serveMetrics(metrics, { port: config.metricsPort, host: config.host, healthy: () => server.health.get('') === ServingStatus.SERVING })
    : undefined;
  logger.info({ port: server.port, metricsPort: side?.port, device: config.device }, `${opts.name} listening on ${server.address}`);
  // after the server closed (stop() or a signal): stop taking work, then release the bus (a NATS
  // connection would keep the process alive) and the store
  let released: Promise<void> | undefined;
  const release = (): Promise<void> =>
    (released ??= (async () => {
      await workers?.stop();
      await side?.close();
      await runtime.close();
    })());
  const stop = async (): Promise<void> => {
    await workers?.stop();
    await server.shutdown();
    await release();
  };
  void server.closed.then(release);
  return { server, metrics, metricsPort: side?.port, stop };
}
