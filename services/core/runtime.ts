/**
 * What a running service process shares between its handlers: the artifact store (file:// in
 * embedded mode, the JetStream object store in the cluster) and the event bus (in-memory or NATS),
 * plus helpers to move models in and out of the store.
 */
import { createHash } from 'node:crypto';
import { ArtifactRouter, type ArtifactRef, type ArtifactStore } from './artifacts/index.js';
import { createEventBus, type EventBus } from './events/index.js';
import { decodeModel, encodeModel } from './onnx/model.js';
import type { ModelProto } from './onnx/proto.js';
import { InvalidArgument } from './errors.js';

export const ONNX_MEDIA_TYPE = 'application/x-onnx';
export const NATS_ARTIFACT_BUCKET = 'modelopt-artifacts';

export interface MeshRuntime {
  artifacts: ArtifactStore;
  bus: EventBus;
  close(): Promise<void>;
}

export interface RuntimeConfig {
  natsUrl?: string;
  storeRoot: string;
  /** NATS only: isolates the streams, work queues and job KV bucket (tests, tenants); unset in production. */
  natsNamespace?: string;
}

export async function createRuntime(config: RuntimeConfig): Promise<MeshRuntime> {
  const nats = config.natsUrl && config.natsUrl.length > 0 ? config.natsUrl : undefined;
  const artifacts = await ArtifactRouter.open(nats ? `nats-os://${NATS_ARTIFACT_BUCKET}` : config.storeRoot, { natsServers: nats });
  const bus = await createEventBus(nats ? { kind: 'nats', servers: nats, ...(config.natsNamespace ? { namespace: config.natsNamespace } : {}) } : { kind: 'memory' });
  return {
    artifacts,
    bus,
    async close() {
      await bus.close();
      await artifacts.close();
    },
  };
}

/** Reads and decodes a model artifact (sha256 verified by the store). */
export async function readModel(store: ArtifactStore, ref: ArtifactRef | undefined, what = 'model'): Promise<ModelProto> {
  return (await readModelBytes(store, ref, what)).model;
}

/**
 * readModel, and the sha256 of the model's bytes (the reference's where it gives one: the store verified it). For
 * callers that never change the model in place: the bytes are kept for spliced encodings of edited copies (splice.ts).
 */
export async function readModelWithDigest(store: ArtifactStore, ref: ArtifactRef | undefined, what = 'model'): Promise<{ model: ModelProto; sha256: string }> {
  const { model, bytes, given } = await readModelBytes(store, ref, what, true);
  return { model, sha256: given || createHash('sha256').update(bytes).digest('hex') };
}

async function readModelBytes(store: ArtifactStore, ref: ArtifactRef | undefined, what: string, keepSource = false): Promise<{ model: ModelProto; bytes: Uint8Array; given: string }> {
  if (!ref || !ref.uri) throw new InvalidArgument(`${what}: no artifact reference given`);
  const bytes = await store.get(ref);
  return { model: decodeModel(bytes, `${what} ${ref.uri}`, { keepSource }), bytes, given: ref.sha256 };
}

export async function writeModel(store: ArtifactStore, model: ModelProto): Promise<ArtifactRef> {
  return store.put(encodeModel(model), { mediaType: ONNX_MEDIA_TYPE });
}
