/**
 * Maps thrown errors to gRPC statuses. DomainErrors keep their code and send their message as
 * the status details (the reason); an unexpected error becomes INTERNAL with a one-line message
 * (the stack is logged, never sent). Errors from downstream gRPC calls keep their status.
 */
import { Metadata, status as Status, type StatusObject } from '@grpc/grpc-js';
import { DomainError, type DomainErrorCode } from '../errors.js';

/** Trailing-metadata key carrying the domain error class name, e.g. "InvalidArgument". */
export const ERROR_CLASS_KEY = 'modelopt-error-class';

const CODE_BY_NAME: Record<DomainErrorCode, Status> = {
  INVALID_ARGUMENT: Status.INVALID_ARGUMENT,
  NOT_FOUND: Status.NOT_FOUND,
  FAILED_PRECONDITION: Status.FAILED_PRECONDITION,
  UNIMPLEMENTED: Status.UNIMPLEMENTED,
  RESOURCE_EXHAUSTED: Status.RESOURCE_EXHAUSTED,
  DEADLINE_EXCEEDED: Status.DEADLINE_EXCEEDED,
  CANCELLED: Status.CANCELLED,
  INTERNAL: Status.INTERNAL,
  DATA_LOSS: Status.DATA_LOSS,
};

/** "INVALID_ARGUMENT" for 3, etc. */
export function statusName(code: number): string {
  return Status[code] ?? `CODE_${code}`;
}

/** True for a ServiceError-like object coming from a grpc-js client call. */
export function isGrpcError(err: unknown): err is Error & { code: number; details: string; metadata?: Metadata } {
  return (
    err instanceof Error &&
    typeof (err as { code?: unknown }).code === 'number' &&
    typeof (err as { details?: unknown }).details === 'string' &&
    (err as unknown as { code: number }).code in Status
  );
}

export interface MappedStatus extends Partial<StatusObject> {
  code: Status;
  details: string;
  metadata: Metadata;
  /** True when the error was not anticipated (log it with its stack). */
  unexpected: boolean;
}

export function toStatus(err: unknown, where: string): MappedStatus {
  const metadata = new Metadata();
  if (err instanceof DomainError) {
    metadata.set(ERROR_CLASS_KEY, err.name);
    return { code: CODE_BY_NAME[err.code] ?? Status.INTERNAL, details: err.message, metadata, unexpected: err.code === 'INTERNAL' };
  }
  if (isGrpcError(err)) {
    // A downstream call failed: propagate its status (UNKNOWN would hide the cause).
    const code = err.code === Status.UNKNOWN || err.code === Status.OK ? Status.INTERNAL : err.code;
    return { code, details: `${where}: downstream call failed: ${err.details}`, metadata, unexpected: code === Status.INTERNAL };
  }
  const message = err instanceof Error ? err.message : String(err);
  metadata.set(ERROR_CLASS_KEY, 'Internal');
  return { code: Status.INTERNAL, details: `${where} failed: ${message.split('\n')[0]}`, metadata, unexpected: true };
}
