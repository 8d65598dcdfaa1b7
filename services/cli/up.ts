/**
 * `modelopt up`: run all six services in this process (embedded mode) until SIGTERM/SIGINT.
 * Prints one line per service, "<name> <host:port> <grpc service>", then "ready".
 */
import { loadConfig } from '../core/config.js';
import { createLogger } from '../core/logging.js';
import { flagHelp, parseFlags, type FlagSpec } from './args.js';
import type { Command } from './command.js';
import { startEmbedded } from './embedded.js';
import { SERVICES, type ServiceEntry } from './service-table.js';

const FLAGS: FlagSpec[] = [
  { name: 'base-port', kind: 'int', help: 'first port; services take base..base+5 in table order (default 50051; 0 = free ports)' },
  ...SERVICES.map((s): FlagSpec => ({ name: `${s.name}-port`, kind: 'int', help: `port of ${s.name} (default ${s.defaultPort})` })),
  { name: 'shutdown-timeout-ms', kind: 'int', help: 'graceful shutdown budget before cancelling calls (default 10000)' },
];

const USAGE = `usage: modelopt up [options]

Starts graph-analyzer, calibrator, quantizer, exporter, trt-builder and profiler in one process.

${flagHelp(FLAGS)}
  --nats URL (or NATS_URL): events on NATS JetStream and artifacts in its object store;
      without it, the in-memory bus and the file store
  --host, --metrics-port, --nats-url, --store-root, --log-level, --device, --max-message-bytes
      as for every service (environment MODELOPT_* also applies)`;

export const upCommand: Command = {
  summary: 'run all six services in this process (embedded mode)',
  usage: USAGE,
  async run(argv) {
    // `--nats URL` and NATS_URL are accepted as spellings of --nats-url / MODELOPT_NATS_URL.
    const normalized = argv.map((a) => (a === '--nats' ? '--nats-url' : a.startsWith('--nats=') ? `--nats-url=${a.slice(7)}` : a));
    const env = { ...process.env };
    if (!env.MODELOPT_NATS_URL && env.NATS_URL) env.MODELOPT_NATS_URL = env.NATS_URL;
    const { config, rest } = loadConfig({ argv: normalized, env, allowUnknown: true });
    const { values } = parseFlags(rest, FLAGS);
    const logger = createLogger({ name: 'modelopt-up', level: config.logLevel });
    const ports: Partial<Record<ServiceEntry['name'], number>> = {};
    for (const s of SERVICES) {
      const v = values[`${s.name}-port`];
      if (typeof v === 'number') ports[s.name] = v;
    }
    const mesh = await startEmbedded({
      config,
      logger,
      ports,
      basePort: typeof values['base-port'] === 'number' ? values['base-port'] : undefined,
      shutdownTimeoutMs: typeof values['shutdown-timeout-ms'] === 'number' ? values['shutdown-timeout-ms'] : undefined,
    });
    for (const { entry, server } of mesh.servers) process.stdout.write(`${entry.name}\t${server.address}\t${entry.grpcName}\n`);
    if (mesh.metricsServer) process.stdout.write(`metrics\thttp://127.0.0.1:${mesh.metricsServer.port}/metrics\n`);
    // listening for the signals before saying ready: a supervisor may send one as soon as it reads the line
    const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    process.stdout.write('ready\n');
    const signal = await stopSignal;
    await mesh.stop(signal);
    process.stdout.write('stopped\n');
    return 0;
  },
};
