import { DomainError, InvalidArgument } from '../errors.js';

/** A KV create/update lost a race: the key exists, or its revision moved on. */
export class KvConflictError extends DomainError {
  readonly key: string;
  constructor(key: string, detail: string, options?: { cause?: unknown }) {
    super('FAILED_PRECONDITION', `kv conflict on ${key}: ${detail}`, options);
    this.key = key;
  }
}

/** A subject, pattern, service name or key that is not a valid NATS token sequence. */
export class InvalidSubjectError extends InvalidArgument {}
