/**
 * Typed gRPC clients: construct a generated client with sane channel options, call unary
 * methods as promises, consume server streams as async iterators, feed client streams from
 * iterables; every call can carry a deadline and an AbortSignal.
 *
 *   const c = createClient(CalibratorServiceClient, '127.0.0.1:50052');
 *   const merged = await callUnary(c, c.mergeHistograms, { shards }, { timeoutMs: 5_000 });
 *   for await (const msg of callServerStream(c, c.calibrate, req, { timeoutMs: 600_000 })) { ... }
 *   const ref = await callClientStream(a, a.upload, chunksIterable);
 *   c.close();
 *
 * Failures reject/throw the grpc-js ServiceError ({ code, details, metadata }).
 */
import * as grpc from '@grpc/grpc-js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../config.js';
import { HealthClient, ServingStatus } from './health.js';

export interface ClientOptions {
  maxMessageBytes?: number;
  credentials?: grpc.ChannelCredentials;
  channelOptions?: grpc.ChannelOptions;
}

type ClientCtor<C> = new (address: string, credentials: grpc.ChannelCredentials, options?: Partial<grpc.ClientOptions>) => C;

export function createClient<C extends grpc.Client>(Ctor: ClientCtor<C>, address: string, opts: ClientOptions = {}): C {
  const max = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  return new Ctor(address, opts.credentials ?? grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': max,
    'grpc.max_send_message_length': max,
    ...opts.channelOptions,
  });
}

export interface CallOpts {
  /** Deadline relative to now. */
  timeoutMs?: number;
  /** Absolute deadline (wins over timeoutMs). */
  deadline?: Date;
  metadata?: grpc.Metadata;
  /** Cancels the call. */
  signal?: AbortSignal;
}

/** Default deadline for unary calls without one. Streams have none unless given. */
export const DEFAULT_UNARY_TIMEOUT_MS = 60_000;

function callOptions(opts: CallOpts, defaultTimeoutMs?: number): Partial<grpc.CallOptions> {
  if (opts.deadline) return { deadline: opts.deadline };
  const timeoutMs = opts.timeoutMs ?? defaultTimeoutMs;
  return timeoutMs === undefined ? {} : { deadline: new Date(Date.now() + timeoutMs) };
}

function linkSignal(call: { cancel(): void }, signal: AbortSignal | undefined): () => void {
  if (!signal) return () => undefined;
  const onAbort = (): void => call.cancel();
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

type ServerStreamMethod<Req, Res> = (request: Req, metadata?: grpc.Metadata, options?: Partial<grpc.CallOptions>) => grpc.ClientReadableStream<Res>;

type ClientStreamMethod<Req, Res> = (
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientWritableStream<Req>;

/** Calls a unary method; `method` is the client's own method (e.g. `c.analyze`). */
export function callUnary<C extends grpc.Client, Req, Res>(client: C, method: UnaryMethod<Req, Res>, request: Req, opts: CallOpts = {}): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    let unlink = (): void => undefined;
    const call = method.call(client, request, opts.metadata ?? new grpc.Metadata(), callOptions(opts, DEFAULT_UNARY_TIMEOUT_MS), (err, res) => {
      unlink();
      if (err) reject(err);
      else resolve(res);
    });
    unlink = linkSignal(call, opts.signal);
  });
}

/** Calls a server-streaming method and yields its messages; errors are thrown by the iterator. */
export async function* callServerStream<C extends grpc.Client, Req, Res>(
  client: C,
  method: ServerStreamMethod<Req, Res>,
  request: Req,
  opts: CallOpts = {},
): AsyncGenerator<Res, void, undefined> {
  const call = method.call(client, request, opts.metadata ?? new grpc.Metadata(), callOptions(opts));
  const unlink = linkSignal(call, opts.signal);
  try {
    for await (const msg of call as AsyncIterable<Res>) yield msg;
  } finally {
    unlink();
    // Leaving the loop early cancels the call (no-op when it already ended).
    call.cancel();
  }
}

/** Calls a client-streaming method, writing every message of `source`, and resolves with the response. */
export function callClientStream<C extends grpc.Client, Req, Res>(
  client: C,
  method: ClientStreamMethod<Req, Res>,
  source: AsyncIterable<Req> | Iterable<Req>,
  opts: CallOpts = {},
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    let unlink = (): void => undefined;
    let settled = false;
    const call = method.call(client, opts.metadata ?? new grpc.Metadata(), callOptions(opts), (err, res) => {
      settled = true;
      unlink();
      if (err) reject(err);
      else resolve(res);
    });
    unlink = linkSignal(call, opts.signal);
    void (async () => {
      try {
        for await (const msg of source) {
          if (settled) return;
          if (!call.write(msg)) await new Promise<void>((r) => call.once('drain', () => r()));
        }
        call.end();
      } catch (err) {
        call.cancel();
        if (!settled) reject(err);
      }
    })();
  });
}

/** Waits until the channel is connected (or throws after timeoutMs). */
export function waitForReady(client: grpc.Client, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    client.waitForReady(new Date(Date.now() + timeoutMs), (err) => (err ? reject(err) : resolve()));
  });
}

/** grpc.health.v1 Check on `address` for `service` ("" = whole server). */
export async function checkHealth(address: string, service = '', opts: CallOpts = {}): Promise<ServingStatus> {
  const client = createClient(HealthClient, address);
  try {
    const res = await callUnary(client, client.check, { service }, { timeoutMs: 5_000, ...opts });
    return res.status;
  } finally {
    client.close();
  }
}
