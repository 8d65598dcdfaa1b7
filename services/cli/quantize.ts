/**
 * `modelopt quantize`: the reference command line, run through the six services over gRPC.
 * With no --endpoint the services start inside this process on free ports (embedded mode, file
 * store in a temporary folder, in-memory bus or NATS with --nats); with --endpoint they are a
 * running mesh and artifacts travel through the ArtifactService.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultConfig } from '../core/config.js';
import { createLogger } from '../core/logging.js';
import type { Command } from './command.js';
import { startEmbedded, type EmbeddedMesh } from './embedded.js';
import { connectMesh, addressesFrom, type MeshAddresses } from './mesh-client.js';
import { parseQuantizeArgs, quantizeUsage, type QuantizeArgs } from './quantize-args.js';
import { runQuantizeJob, type QuantizeJobResult } from './quantize-job.js';
import { createProgressView } from './progress-bar.js';
import { printQuantizeResult } from './quantize-output.js';
import { writeJobReport } from './job-report.js';

export const quantizeCommand: Command = {
  summary: 'quantize an ONNX model (INT8, FP8, INT4) through the services',
  usage: quantizeUsage(),
  async run(argv) {
    const args = parseQuantizeArgs(argv);
    const result = await quantizeWithMesh(args);
    if (args.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else printQuantizeResult(result, args);
    return 0;
  },
};

export async function quantizeWithMesh(args: QuantizeArgs): Promise<QuantizeJobResult> {
  fs.mkdirSync(path.dirname(args.outputPath), { recursive: true });
  let embedded: EmbeddedMesh | undefined;
  let storeRoot: string | undefined;
  let addresses: MeshAddresses;
  if (args.endpoint) {
    addresses = addressesFrom(args.endpoint);
  } else {
    storeRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'modelopt-store-'));
    const config = defaultConfig({ host: '127.0.0.1', storeRoot, natsUrl: args.natsUrl ?? '', device: args.device, logLevel: args.options.verbose ? 'info' : 'error' });
    embedded = await startEmbedded({ config, logger: createLogger({ name: 'modelopt', level: config.logLevel }), basePort: 0 });
    addresses = Object.fromEntries(embedded.servers.map((s) => [s.entry.name, s.server.address])) as MeshAddresses;
  }
  const mesh = connectMesh(addresses);
  const view = createProgressView(!args.json);
  try {
    const result = await runQuantizeJob({
      args,
      mesh,
      localServices: !args.endpoint,
      bus: embedded?.runtime.bus,
      onProgress: (p) => view.update(p),
      onWarning: (w) => process.stderr.write(`\nWARNING: ${w}\n`),
    });
    view.stop();
    if (args.report) await writeJobReport(result, args);
    return result;
  } finally {
    view.stop();
    mesh.close();
    await embedded?.stop('quantize finished');
    if (storeRoot) fs.rmSync(storeRoot, { recursive: true, force: true });
  }
}
