/**
 * Handler definitions for the server kit. A server.ts describes each RPC with `unary`,
 * `serverStream`, `clientStream` or `unimplemented`; the kit (server.ts in this folder) binds
 * them to grpc-js with deadlines, cancellation, error mapping, logging and metrics.
 *
 *   export function calibratorService(deps: CalibratorDeps): ServiceRegistration<typeof CalibratorServiceService> {
 *     return defineService(CalibratorServiceService, {
 *       calibrate: serverStream(async function* (req, ctx) { ... yield { progress: {...} }; }),
 *       mergeHistograms: unary(async (req, ctx) => ({ ... })),
 *       captureActivations: unimplemented('CaptureActivations is not implemented yet'),
 *     });
 *   }
 */
import type { Metadata, MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import type { Logger } from '../logging.js';

/** Per-call context handed to handlers. */
export interface CallContext {
  /** Fully-qualified service name, e.g. "modelopt.v1.CalibratorService". */
  service: string;
  /** Method name as in the proto, e.g. "Calibrate". */
  method: string;
  /** Aborted when the client cancels, the deadline passes or the server is forced down. */
  signal: AbortSignal;
  /** The caller's deadline, if any. */
  deadline: Date | undefined;
  /** Milliseconds left before the deadline (Infinity without one). */
  remainingMs(): number;
  /** Throws the abort reason (DeadlineExceeded / Cancelled) if the call is over. */
  throwIfAborted(): void;
  metadata: Metadata;
  peer: string;
  logger: Logger;
}

export type UnaryFn<Req, Res> = (request: Req, ctx: CallContext) => Promise<Res> | Res;
export type ServerStreamFn<Req, Res> = (request: Req, ctx: CallContext) => AsyncIterable<Res> | Iterable<Res>;
export type ClientStreamFn<Req, Res> = (requests: AsyncIterable<Req>, ctx: CallContext) => Promise<Res> | Res;
export type BidiStreamFn<Req, Res> = (requests: AsyncIterable<Req>, ctx: CallContext) => AsyncIterable<Res>;

export interface UnaryHandler<Req, Res> { readonly kind: 'unary'; readonly fn: UnaryFn<Req, Res> }
export interface ServerStreamHandler<Req, Res> { readonly kind: 'serverStream'; readonly fn: ServerStreamFn<Req, Res> }
export interface ClientStreamHandler<Req, Res> { readonly kind: 'clientStream'; readonly fn: ClientStreamFn<Req, Res> }
export interface BidiStreamHandler<Req, Res> { readonly kind: 'bidiStream'; readonly fn: BidiStreamFn<Req, Res> }
/** Answers UNIMPLEMENTED with `message`; fits any method shape. */
export interface UnimplementedHandler { readonly kind: 'unimplemented'; readonly message: string }

export type AnyHandler =
  | UnaryHandler<any, any> // eslint-disable-line @typescript-eslint/no-explicit-any
  | ServerStreamHandler<any, any> // eslint-disable-line @typescript-eslint/no-explicit-any
  | ClientStreamHandler<any, any> // eslint-disable-line @typescript-eslint/no-explicit-any
  | BidiStreamHandler<any, any> // eslint-disable-line @typescript-eslint/no-explicit-any
  | UnimplementedHandler;

export const unary = <Req, Res>(fn: UnaryFn<Req, Res>): UnaryHandler<Req, Res> => ({ kind: 'unary', fn });
export const serverStream = <Req, Res>(fn: ServerStreamFn<Req, Res>): ServerStreamHandler<Req, Res> => ({ kind: 'serverStream', fn });
export const clientStream = <Req, Res>(fn: ClientStreamFn<Req, Res>): ClientStreamHandler<Req, Res> => ({ kind: 'clientStream', fn });
export const bidiStream = <Req, Res>(fn: BidiStreamFn<Req, Res>): BidiStreamHandler<Req, Res> => ({ kind: 'bidiStream', fn });
export const unimplemented = (message: string): UnimplementedHandler => ({ kind: 'unimplemented', message });

type ReqOf<M> = M extends { requestDeserialize: (b: Buffer) => infer R } ? R : never;
type ResOf<M> = M extends { responseSerialize: (v: infer R) => Buffer } ? R : never;

/** The kit handler type that fits one generated method definition. */
export type HandlerFor<M> =
  | UnimplementedHandler
  | (M extends { requestStream: true }
      ? M extends { responseStream: true }
        ? BidiStreamHandler<ReqOf<M>, ResOf<M>>
        : ClientStreamHandler<ReqOf<M>, ResOf<M>>
      : M extends { responseStream: true }
        ? ServerStreamHandler<ReqOf<M>, ResOf<M>>
        : UnaryHandler<ReqOf<M>, ResOf<M>>);

export type HandlersFor<D> = { [K in keyof D]: HandlerFor<D[K]> };

/** A service ready to be added to a server: its name, generated definition and handlers. */
export interface ServiceRegistration<D extends ServiceDefinition = ServiceDefinition> {
  /** Fully-qualified name used by health checking and reflection. */
  readonly name: string;
  readonly definition: D;
  readonly handlers: HandlersFor<D>;
}

/** Builds a registration; the service name is read from the method paths. */
export function defineService<D extends ServiceDefinition>(definition: D, handlers: HandlersFor<D>): ServiceRegistration<D> {
  const first = Object.values(definition)[0] as MethodDefinition<unknown, unknown> | undefined;
  if (!first) throw new Error('defineService: empty service definition');
  const name = first.path.split('/')[1]!;
  for (const key of Object.keys(definition)) {
    if (!(key in handlers)) throw new Error(`defineService(${name}): no handler for method "${key}"`);
  }
  return { name, definition, handlers };
}
