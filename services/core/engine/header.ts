/**
 * The 32-byte SHA-256 header that prefixes every built engine (SPEC §5). Shared by trt-builder
 * (writes it) and profiler (verifies and strips it).
 *
 * header = SHA-256(engine bytes), the engine bytes fed to the hash once. The reference feeds them
 * twice (SHA-256(engine ‖ engine)); `referenceEngineHeader` computes that variant for comparison
 * only (see docs/compatibility.md, "trt-builder").
 */
import { createHash } from 'node:crypto';
import { InvalidArgument } from '../errors.js';

export const ENGINE_HEADER_BYTES = 32;

export function engineHeader(engine: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(engine).digest());
}

/** The reference's header: the engine bytes fed to SHA-256 twice. Not used for building. */
export function referenceEngineHeader(engine: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(engine).update(engine).digest());
}

/** header ‖ engine, hashing the engine once. */
export function addEngineHeader(engine: Uint8Array): Uint8Array {
  const out = new Uint8Array(ENGINE_HEADER_BYTES + engine.length);
  out.set(engineHeader(engine), 0);
  out.set(engine, ENGINE_HEADER_BYTES);
  return out;
}

export interface VerifiedEngine {
  /** The hex header, also usable as a session-cache key. */
  readonly sha256: string;
  /** The engine bytes after the header (a view, not a copy). */
  readonly engine: Uint8Array;
}

/** Checks the header against the bytes after it; throws InvalidArgument on any mismatch. */
export function verifyEngineHeader(hashed: Uint8Array): VerifiedEngine {
  if (hashed.length <= ENGINE_HEADER_BYTES) {
    throw new InvalidArgument(
      `engine: ${hashed.length} bytes is too short for a ${ENGINE_HEADER_BYTES}-byte SHA-256 header plus an engine`,
    );
  }
  const header = hashed.subarray(0, ENGINE_HEADER_BYTES);
  const engine = hashed.subarray(ENGINE_HEADER_BYTES);
  const expected = engineHeader(engine);
  if (!Buffer.from(header).equals(Buffer.from(expected))) {
    const got = Buffer.from(header).toString('hex');
    const reference = Buffer.from(referenceEngineHeader(engine)).equals(Buffer.from(header));
    throw new InvalidArgument(
      reference
        ? `engine: header ${got} is the reference's double-fed SHA-256; this service expects SHA-256 of the engine bytes once (${Buffer.from(expected).toString('hex')})`
        : `engine: SHA-256 header mismatch (header ${got}, engine bytes hash to ${Buffer.from(expected).toString('hex')}); the engine is corrupt or was tampered with`,
    );
  }
  return { sha256: Buffer.from(header).toString('hex'), engine };
}

/** Verifies the header and returns the bare engine bytes (the reference's remove_hash). */
export function stripEngineHeader(hashed: Uint8Array): Uint8Array {
  return verifyEngineHeader(hashed).engine;
}
