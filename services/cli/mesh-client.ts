/**
 * Clients for the six services of a running mesh, plus artifact upload/download through the
 * ArtifactService (works the same against an embedded mesh and a remote cluster).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { GraphAnalyzerServiceClient } from '../../gen/modelopt/v1/graph_analyzer.js';
import { CalibratorServiceClient } from '../../gen/modelopt/v1/calibrator.js';
import { QuantizerServiceClient } from '../../gen/modelopt/v1/quantizer.js';
import { ExporterServiceClient } from '../../gen/modelopt/v1/exporter.js';
import { TrtBuilderServiceClient } from '../../gen/modelopt/v1/trt_builder.js';
import { ProfilerServiceClient } from '../../gen/modelopt/v1/profiler.js';
import { ArtifactServiceClient, type UploadRequest } from '../../gen/modelopt/v1/artifacts.js';
import type { ArtifactRef } from '../../gen/modelopt/v1/common.js';
import { createClient, callClientStream, callServerStream } from '../core/grpc/client.js';
import { writeFileAtomic } from '../core/artifacts/index.js';
import type { ServiceName } from '../core/service-main.js';

export type MeshAddresses = Record<ServiceName, string>;

export interface MeshClient {
  analyzer: GraphAnalyzerServiceClient;
  calibrator: CalibratorServiceClient;
  quantizer: QuantizerServiceClient;
  exporter: ExporterServiceClient;
  trtBuilder: TrtBuilderServiceClient;
  profiler: ProfilerServiceClient;
  artifacts: ArtifactServiceClient;
  upload(file: string, mediaType: string): Promise<ArtifactRef>;
  download(ref: ArtifactRef, file: string): Promise<void>;
  close(): void;
}

const CHUNK = 1 << 20;

export function connectMesh(addresses: MeshAddresses): MeshClient {
  const analyzer = createClient(GraphAnalyzerServiceClient, addresses['graph-analyzer']);
  const artifacts = createClient(ArtifactServiceClient, addresses['graph-analyzer']);
  const clients = {
    analyzer,
    calibrator: createClient(CalibratorServiceClient, addresses.calibrator),
    quantizer: createClient(QuantizerServiceClient, addresses.quantizer),
    exporter: createClient(ExporterServiceClient, addresses.exporter),
    trtBuilder: createClient(TrtBuilderServiceClient, addresses['trt-builder']),
    profiler: createClient(ProfilerServiceClient, addresses.profiler),
    artifacts,
  };
  return {
    ...clients,
    async upload(file, mediaType) {
      const stat = fs.statSync(file);
      const sha = createHash('sha256');
      async function* parts(): AsyncGenerator<UploadRequest> {
        yield { header: { name: path.basename(file), mediaType, sizeBytes: stat.size, sha256: '' } };
        const stream = fs.createReadStream(file, { highWaterMark: CHUNK });
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          sha.update(chunk);
          yield { chunk };
        }
      }
      const res = await callClientStream(artifacts, artifacts.upload, parts(), { timeoutMs: 30 * 60_000 });
      if (!res.ref) throw new Error(`upload of ${file} returned no reference`);
      return res.ref;
    },
    async download(ref, file) {
      async function* bytes(): AsyncGenerator<Uint8Array> {
        for await (const msg of callServerStream(artifacts, artifacts.download, { ref, chunkSize: CHUNK }, { timeoutMs: 30 * 60_000 })) yield msg.chunk;
      }
      await writeFileAtomic(file, bytes());
    },
    close() {
      for (const c of Object.values(clients)) c.close();
    },
  };
}

/** `host:port` for every service: one address for all, or `modelopt up`'s consecutive ports. */
export function addressesFrom(endpoint: string): MeshAddresses {
  const m = /^(.*):(\d+)$/.exec(endpoint);
  if (!m) throw new Error(`endpoint must be host:port, got "${endpoint}"`);
  const host = m[1]!;
  const base = Number(m[2]);
  return {
    'graph-analyzer': `${host}:${base}`,
    calibrator: `${host}:${base + 1}`,
    quantizer: `${host}:${base + 2}`,
    exporter: `${host}:${base + 3}`,
    'trt-builder': `${host}:${base + 4}`,
    profiler: `${host}:${base + 5}`,
  };
}
