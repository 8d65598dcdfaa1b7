/**
 * Errors raised by artifact stores. They extend the shared DomainError classes
 * (services/core/errors.ts), so the gRPC server kit maps them to status codes:
 * IntegrityError → DATA_LOSS, ArtifactNotFoundError → NOT_FOUND,
 * InvalidArtifactRefError → INVALID_ARGUMENT.
 */
import { IntegrityError as DomainIntegrityError, InvalidArgument, NotFound } from '../errors.js';

/** Stored bytes do not match the sha256 (or size) recorded in the ArtifactRef. */
export class IntegrityError extends DomainIntegrityError {
  readonly uri: string;
  readonly expectedSha256: string;
  readonly actualSha256: string;
  constructor(uri: string, expectedSha256: string, actualSha256: string, detail?: string) {
    super(
      `artifact ${uri} failed integrity check: expected sha256 ${expectedSha256}, got ${actualSha256}` +
        (detail ? ` (${detail})` : ''),
    );
    this.uri = uri;
    this.expectedSha256 = expectedSha256;
    this.actualSha256 = actualSha256;
  }
}

/** The artifact named by a ref is not in its store. */
export class ArtifactNotFoundError extends NotFound {
  readonly uri: string;
  constructor(uri: string, options?: { cause?: unknown }) {
    super(`artifact not found: ${uri}`, options);
    this.uri = uri;
  }
}

/** A URI or ref that no store can handle, or one that is malformed. */
export class InvalidArtifactRefError extends InvalidArgument {}
