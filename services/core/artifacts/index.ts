export * from './types.js';
export { IntegrityError, ArtifactNotFoundError, InvalidArtifactRefError } from './errors.js';
export { writeFileAtomic, writeFilesAtomic, tempPathFor, fsyncDir, type AtomicSource, type AtomicWriteOptions } from './atomic.js';
export { sha256Hex, hashFile, verifyBytes, verifyingTransform, isSha256Hex } from './hashing.js';
export { FileArtifactStore, filePathFromUri } from './file-store.js';
export { NatsObjectArtifactStore, parseNatsOsUri, type NatsObjectStoreOptions } from './nats-os-store.js';
export { storeFor, resolveStore, ArtifactRouter, fileUri, type StoreOptions } from './factory.js';
