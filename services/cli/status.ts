/**
 * `modelopt status`: standard health check of each of the six services; prints
 * "<name> <host:port> SERVING|NOT_SERVING|UNREACHABLE" and exits 0 only if all are SERVING.
 */
import { checkHealth } from '../core/grpc/client.js';
import { ServingStatus } from '../core/grpc/health.js';
import { isGrpcError, statusName } from '../core/grpc/status.js';
import { flagHelp, parseFlags, type FlagSpec } from './args.js';
import type { Command } from './command.js';
import { SERVICES } from './service-table.js';

const FLAGS: FlagSpec[] = [
  { name: 'host', kind: 'string', help: 'host of the services (default 127.0.0.1)' },
  { name: 'base-port', kind: 'int', help: 'first port, as for `modelopt up` (default 50051)' },
  ...SERVICES.map((s): FlagSpec => ({ name: `${s.name}-port`, kind: 'int', help: `port of ${s.name}` })),
  { name: 'timeout-ms', kind: 'int', help: 'deadline of each check (default 3000)' },
];

export const statusCommand: Command = {
  summary: 'health-check the six services',
  usage: `usage: modelopt status [options]\n\n${flagHelp(FLAGS)}`,
  async run(argv) {
    const { values } = parseFlags(argv, FLAGS);
    const host = typeof values.host === 'string' ? values.host : '127.0.0.1';
    const base = typeof values['base-port'] === 'number' ? values['base-port'] : 50051;
    const timeoutMs = typeof values['timeout-ms'] === 'number' ? values['timeout-ms'] : 3000;
    const rows = await Promise.all(
      SERVICES.map(async (s, i) => {
        const port = typeof values[`${s.name}-port`] === 'number' ? (values[`${s.name}-port`] as number) : base + i;
        const address = `${host}:${port}`;
        try {
          const st = await checkHealth(address, s.grpcName, { timeoutMs });
          return { name: s.name, address, status: ServingStatus[st] ?? String(st), ok: st === ServingStatus.SERVING };
        } catch (err) {
          const why = isGrpcError(err) ? statusName(err.code) : String(err);
          const status = isGrpcError(err) && statusName(err.code) === 'NOT_FOUND' ? 'SERVICE_UNKNOWN' : `UNREACHABLE (${why})`;
          return { name: s.name, address, status, ok: false };
        }
      }),
    );
    const width = Math.max(...rows.map((r) => r.name.length));
    for (const r of rows) process.stdout.write(`${r.name.padEnd(width)}  ${r.address.padEnd(21)}  ${r.status}\n`);
    return rows.every((r) => r.ok) ? 0 : 1;
  },
};
