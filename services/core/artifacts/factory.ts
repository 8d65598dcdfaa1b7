import { dirname, resolve, basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import { connect, type NatsConnection, type ObjectStoreOptions } from 'nats';
import type { Readable } from 'node:stream';
import { InvalidArtifactRefError } from './errors.js';
import { FileArtifactStore, filePathFromUri } from './file-store.js';
import { NatsObjectArtifactStore, parseNatsOsUri } from './nats-os-store.js';
import type { ArtifactRef, ArtifactSource, ArtifactStore, PutOptions } from './types.js';

export interface StoreOptions {
  /** connection used for nats-os:// stores; if absent one is opened (and owned by the store) */
  nc?: NatsConnection;
  /** servers to connect to when `nc` is absent (default: $NATS_URL, then 127.0.0.1:4222) */
  natsServers?: string;
  bucketOptions?: Partial<ObjectStoreOptions>;
  /** root for file stores resolved from refs (default: inferred from the ref's path) */
  fileRoot?: string;
}

/**
 * Open the store at a location URI: `file:///dir` (or a plain path) or `nats-os://bucket`.
 */
export async function storeFor(location: string, options: StoreOptions = {}): Promise<ArtifactStore> {
  if (location.startsWith('nats-os://')) {
    const { bucket } = parseNatsOsUri(location);
    if (options.nc) return new NatsObjectArtifactStore(options.nc, bucket, { bucketOptions: options.bucketOptions });
    const nc = await connect({ servers: options.natsServers ?? process.env['NATS_URL'] ?? '127.0.0.1:4222' });
    return new NatsObjectArtifactStore(nc, bucket, { bucketOptions: options.bucketOptions, ownsConnection: true });
  }
  if (location.startsWith('file://')) return new FileArtifactStore(filePathFromUri(location));
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(location)) {
    throw new InvalidArtifactRefError(`unsupported artifact store URI scheme: ${location} (use file:// or nats-os://)`);
  }
  return new FileArtifactStore(location);
}

/** The store able to read the artifact at `uri` (an ArtifactRef's uri). */
export async function resolveStore(uriOrRef: string | ArtifactRef, options: StoreOptions = {}): Promise<ArtifactStore> {
  const uri = typeof uriOrRef === 'string' ? uriOrRef : uriOrRef.uri;
  if (uri.startsWith('nats-os://')) {
    const { bucket } = parseNatsOsUri(uri);
    return storeFor(`nats-os://${bucket}`, options);
  }
  if (uri.startsWith('file://')) {
    const root = options.fileRoot ?? inferFileRoot(filePathFromUri(uri));
    return new FileArtifactStore(root);
  }
  throw new InvalidArtifactRefError(`unsupported artifact URI: ${uri} (use file:// or nats-os://)`);
}

/** `<root>/sha256/ab/<hex>` → `<root>`; any other path → its directory. */
function inferFileRoot(path: string): string {
  const shardDir = dirname(path);
  const shaDir = dirname(shardDir);
  if (basename(shaDir) === 'sha256' && basename(path).startsWith(basename(shardDir))) return dirname(shaDir);
  return dirname(resolve(path));
}

/**
 * One ArtifactStore over several backends: writes go to the default store, reads and
 * deletes are routed by the ref's URI scheme (and bucket). Stores it opens are cached
 * and closed by close().
 */
export class ArtifactRouter implements ArtifactStore {
  readonly location: string;
  private readonly defaultStore: ArtifactStore;
  private readonly options: StoreOptions;
  private readonly cache = new Map<string, Promise<ArtifactStore>>();

  constructor(defaultStore: ArtifactStore, options: StoreOptions = {}) {
    this.defaultStore = defaultStore;
    this.location = defaultStore.location;
    this.options = options;
    this.cache.set(this.keyFor(defaultStore.location), Promise.resolve(defaultStore));
  }

  static async open(defaultLocation: string, options: StoreOptions = {}): Promise<ArtifactRouter> {
    return new ArtifactRouter(await storeFor(defaultLocation, options), options);
  }

  private keyFor(uri: string): string {
    if (uri.startsWith('nats-os://')) return `nats-os://${parseNatsOsUri(uri).bucket}`;
    return 'file';
  }

  private storeOf(ref: ArtifactRef): Promise<ArtifactStore> {
    const key = this.keyFor(ref.uri);
    let store = this.cache.get(key);
    if (!store) {
      store = resolveStore(ref, this.options);
      this.cache.set(key, store);
    }
    return store;
  }

  put(data: ArtifactSource, options?: PutOptions): Promise<ArtifactRef> {
    return this.defaultStore.put(data, options);
  }
  putFile(path: string, options?: PutOptions): Promise<ArtifactRef> {
    return this.defaultStore.putFile(path, options);
  }
  async get(ref: ArtifactRef): Promise<Buffer> {
    return (await this.storeOf(ref)).get(ref);
  }
  async openRead(ref: ArtifactRef): Promise<Readable> {
    return (await this.storeOf(ref)).openRead(ref);
  }
  async exists(ref: ArtifactRef): Promise<boolean> {
    return (await this.storeOf(ref)).exists(ref);
  }
  async delete(ref: ArtifactRef): Promise<boolean> {
    return (await this.storeOf(ref)).delete(ref);
  }
  async close(): Promise<void> {
    const stores = await Promise.all(this.cache.values());
    await Promise.all(stores.map((s) => s.close()));
    this.cache.clear();
  }
}

export function fileUri(path: string): string {
  return pathToFileURL(resolve(path)).href;
}
