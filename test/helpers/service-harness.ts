/**
 * One service on a free loopback port over a temporary file store, for gRPC-level tests, and an
 * assertion helper for gRPC status codes.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createServer, type RunningServer } from '../../services/core/grpc/server.js';
import { createClient } from '../../services/core/grpc/client.js';
import { defaultConfig } from '../../services/core/config.js';
import { silentLogger } from '../../services/core/logging.js';
import { createRuntime, type MeshRuntime } from '../../services/core/runtime.js';
import type { ServiceDeps } from '../../services/core/service-main.js';
import type { ServiceRegistration } from '../../services/core/grpc/handlers.js';

export interface ServiceUnderTest<C extends grpc.Client> {
  client: C;
  server: RunningServer;
  runtime: MeshRuntime;
  close(): Promise<void>;
}

type ClientCtor<C> = new (address: string, credentials: grpc.ChannelCredentials, options?: Partial<grpc.ClientOptions>) => C;

export async function startService<C extends grpc.Client>(
  name: string,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  factory: (deps: ServiceDeps) => ServiceRegistration<any>,
  Client: ClientCtor<C>,
): Promise<ServiceUnderTest<C>> {
  const storeRoot = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-grpc-`));
  const runtime = await createRuntime({ storeRoot });
  const server = await createServer({ name, port: 0, host: '127.0.0.1', services: [factory({ config: defaultConfig({ storeRoot }), logger: silentLogger(), runtime })] });
  const client = createClient(Client, server.address);
  return {
    client,
    server,
    runtime,
    async close() {
      client.close();
      await server.shutdown();
      await runtime.close();
      fs.rmSync(storeRoot, { recursive: true, force: true });
    },
  };
}

/** For assert.rejects: the call failed with `code` and a reason matching `re`. */
export const grpcStatus = (code: grpc.status, re: RegExp) => (err: unknown) => {
  const e = err as grpc.ServiceError;
  assert.equal(e.code, code, `expected ${grpc.status[code]}, got ${grpc.status[e.code]}: ${e.details}`);
  assert.match(e.details, re);
  return true;
};
