/**
 * Domain errors. Domain code throws these; the gRPC server kit maps each class to a status code
 * (InvalidArgument → INVALID_ARGUMENT, NotFound → NOT_FOUND, ...) and sends `message` as the reason.
 * Nothing here knows about gRPC.
 */
export type DomainErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'FAILED_PRECONDITION'
  | 'UNIMPLEMENTED'
  | 'RESOURCE_EXHAUSTED'
  | 'DEADLINE_EXCEEDED'
  | 'CANCELLED'
  | 'INTERNAL'
  | 'DATA_LOSS';

export class DomainError extends Error {
  readonly code: DomainErrorCode;
  constructor(code: DomainErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export class InvalidArgument extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', message, options);
  }
}
export class NotFound extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NOT_FOUND', message, options);
  }
}
export class FailedPrecondition extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FAILED_PRECONDITION', message, options);
  }
}
export class Unimplemented extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UNIMPLEMENTED', message, options);
  }
}
export class ResourceExhausted extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RESOURCE_EXHAUSTED', message, options);
  }
}
export class Cancelled extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CANCELLED', message, options);
  }
}
/** The caller's deadline passed before the work finished. */
export class DeadlineExceeded extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DEADLINE_EXCEEDED', message, options);
  }
}
export class Internal extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INTERNAL', message, options);
  }
}
/** Stored bytes do not match their recorded checksum. */
export class IntegrityError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DATA_LOSS', message, options);
  }
}

export function isDomainError(err: unknown): err is DomainError {
  return err instanceof DomainError;
}
