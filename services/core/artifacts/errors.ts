/**
 * Errors raised by artifact stores.
 *
 * services/core/errors.ts (DomainError and friends) did not exist when this module was
 * written; these classes carry a `code` compatible with gRPC status mapping so a later
 * switch to extend the shared DomainError classes is mechanical.
 */

export type ArtifactErrorCode = 'INVALID_ARGUMENT' | 'NOT_FOUND' | 'DATA_LOSS' | 'UNAVAILABLE';

export class ArtifactError extends Error {
  readonly code: ArtifactErrorCode;
  constructor(code: ArtifactErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ArtifactError';
    this.code = code;
  }
}

/** Stored bytes do not match the sha256 (or size) recorded in the ArtifactRef. */
export class IntegrityError extends ArtifactError {
  readonly uri: string;
  readonly expectedSha256: string;
  readonly actualSha256: string;
  constructor(uri: string, expectedSha256: string, actualSha256: string, detail?: string) {
    super(
      'DATA_LOSS',
      `artifact ${uri} failed integrity check: expected sha256 ${expectedSha256}, got ${actualSha256}` +
        (detail ? ` (${detail})` : ''),
    );
    this.name = 'IntegrityError';
    this.uri = uri;
    this.expectedSha256 = expectedSha256;
    this.actualSha256 = actualSha256;
  }
}

/** The artifact named by a ref is not in its store. */
export class ArtifactNotFoundError extends ArtifactError {
  readonly uri: string;
  constructor(uri: string, options?: { cause?: unknown }) {
    super('NOT_FOUND', `artifact not found: ${uri}`, options);
    this.name = 'ArtifactNotFoundError';
    this.uri = uri;
  }
}

/** A URI or ref that no store can handle, or one that is malformed. */
export class InvalidArtifactRefError extends ArtifactError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
    this.name = 'InvalidArtifactRefError';
  }
}
