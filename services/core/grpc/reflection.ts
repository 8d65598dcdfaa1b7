/**
 * Server reflection (grpc.reflection.v1 and v1alpha) for the modelopt.v1 protos and the health
 * service, built once per process from the .proto sources in the repository.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import type { Server } from '@grpc/grpc-js';

const PROTO_ROOT = fileURLToPath(new URL('../../../proto', import.meta.url));
const HEALTH_DIR = fileURLToPath(new URL('.', import.meta.url));

let cached: protoLoader.PackageDefinition | undefined;

function packageDefinition(): protoLoader.PackageDefinition {
  if (!cached) {
    const dir = path.join(PROTO_ROOT, 'modelopt', 'v1');
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.proto'))
      .sort()
      .map((f) => `modelopt/v1/${f}`);
    cached = protoLoader.loadSync([...files, 'health.proto'], {
      includeDirs: [PROTO_ROOT, HEALTH_DIR],
      keepCase: true,
      longs: Number,
      enums: String,
      defaults: false,
      oneofs: true,
    });
  }
  return cached;
}

/** Adds the reflection services to `server`, exposing only `serviceNames`. */
export function addReflection(server: Pick<Server, 'addService'>, serviceNames: string[]): void {
  new ReflectionService(packageDefinition(), { services: serviceNames }).addToServer(server);
}
