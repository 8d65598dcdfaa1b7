import type { Readable } from 'node:stream';

/** Reference to stored bytes; mirrors `modelopt.v1.ArtifactRef` (size_bytes → sizeBytes). */
export interface ArtifactRef {
  /** `file:///abs/path` or `nats-os://bucket/key` */
  uri: string;
  /** lowercase hex sha256 of the content */
  sha256: string;
  sizeBytes: number;
  mediaType: string;
}

export interface PutOptions {
  /** defaults to `application/octet-stream` */
  mediaType?: string;
}

/** Bytes in memory or a byte stream (Node Readable, or any async iterable of chunks). */
export type ArtifactSource = Uint8Array | AsyncIterable<Uint8Array>;

export interface ArtifactStore {
  /** URI of the store location itself, e.g. `file:///var/cache/modelopt` or `nats-os://bucket`. */
  readonly location: string;
  /** Store bytes atomically; the returned ref is content-addressed. */
  put(data: ArtifactSource, options?: PutOptions): Promise<ArtifactRef>;
  /** Store a file from disk without loading it whole into memory. */
  putFile(path: string, options?: PutOptions): Promise<ArtifactRef>;
  /** Read all bytes; throws IntegrityError if the sha256 or size do not match the ref. */
  get(ref: ArtifactRef): Promise<Buffer>;
  /**
   * Stream the bytes. The sha256 is checked as the stream ends: on mismatch the stream
   * is destroyed with an IntegrityError instead of ending normally.
   */
  openRead(ref: ArtifactRef): Promise<Readable>;
  exists(ref: ArtifactRef): Promise<boolean>;
  /** Returns true if something was deleted. */
  delete(ref: ArtifactRef): Promise<boolean>;
  /** Release resources owned by the store (not a connection passed in by the caller). */
  close(): Promise<void>;
}

export const DEFAULT_MEDIA_TYPE = 'application/octet-stream';
