/**
 * A mesh to talk to for one CLI command: a running one (--endpoint host:port) or the six services
 * started in this process on free loopback ports with a temporary file store (embedded mode).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultConfig } from '../core/config.js';
import { createLogger } from '../core/logging.js';
import type { EventBus } from '../core/events/types.js';
import { startEmbedded, type EmbeddedMesh } from './embedded.js';
import { connectMesh, addressesFrom, type MeshAddresses, type MeshClient } from './mesh-client.js';

export interface MeshSessionOptions {
  endpoint?: string;
  natsUrl?: string;
  device?: 'cpu' | 'cuda' | 'auto';
  verbose?: boolean;
}

export interface MeshSession {
  mesh: MeshClient;
  /** true when the services run in this process and share its filesystem. */
  local: boolean;
  bus?: EventBus;
}

export async function withMesh<T>(opts: MeshSessionOptions, fn: (s: MeshSession) => Promise<T>): Promise<T> {
  let embedded: EmbeddedMesh | undefined;
  let storeRoot: string | undefined;
  let addresses: MeshAddresses;
  if (opts.endpoint) {
    addresses = addressesFrom(opts.endpoint);
  } else {
    storeRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'modelopt-store-'));
    const config = defaultConfig({ host: '127.0.0.1', storeRoot, natsUrl: opts.natsUrl ?? '', device: opts.device ?? 'auto', logLevel: opts.verbose ? 'info' : 'error' });
    try {
      embedded = await startEmbedded({ config, logger: createLogger({ name: 'modelopt', level: config.logLevel }), basePort: 0 });
    } catch (err) {
      fs.rmSync(storeRoot, { recursive: true, force: true });
      throw err;
    }
    addresses = Object.fromEntries(embedded.servers.map((s) => [s.entry.name, s.server.address])) as MeshAddresses;
  }
  const mesh = connectMesh(addresses);
  try {
    return await fn({ mesh, local: !opts.endpoint, bus: embedded?.runtime.bus });
  } finally {
    mesh.close();
    await embedded?.stop('command finished');
    if (storeRoot) fs.rmSync(storeRoot, { recursive: true, force: true });
  }
}
