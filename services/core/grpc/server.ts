/**
 * The gRPC server kit: one call builds a grpc-js server with health checking, reflection,
 * message-size limits, deadline/cancellation handling, error mapping, logging, metrics and
 * graceful shutdown.
 *
 *   const srv = await createServer({ name: 'calibrator', port: 50052, services: [calibratorService(deps)], logger });
 *   srv.port; srv.health.set(CalibratorName, ServingStatus.NOT_SERVING); await srv.shutdown();
 */
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { Cancelled, DeadlineExceeded, Unimplemented } from '../errors.js';
import { silentLogger, type Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../config.js';
import type { AnyHandler, CallContext, ServiceRegistration } from './handlers.js';
import { HealthState, ServingStatus, healthService, HEALTH_SERVICE_NAME } from './health.js';
import { addReflection } from './reflection.js';
import { statusName, toStatus } from './status.js';

export interface CreateServerOptions {
  /** Component name for logs ("calibrator", "embedded"...). */
  name: string;
  /** 0 picks a free port. */
  port: number;
  /** Default 0.0.0.0. */
  host?: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  services: ServiceRegistration<any>[];
  logger?: Logger;
  /** Max send/receive message size; default 64 MiB. */
  maxMessageBytes?: number;
  metrics?: Metrics;
  /** Serve grpc.reflection (default true). */
  reflection?: boolean;
  /** Graceful shutdown budget before in-flight calls are cancelled; default 10 s. */
  shutdownTimeoutMs?: number;
  /** Shut down on SIGTERM/SIGINT (default false; process entries turn it on). */
  handleSignals?: boolean;
}

export interface RunningServer {
  name: string;
  port: number;
  /** "host:port" to dial (127.0.0.1 when bound to 0.0.0.0). */
  address: string;
  health: HealthState;
  server: grpc.Server;
  /** Names of the hosted services (health / reflection names). */
  serviceNames: string[];
  /** NOT_SERVING, then tryShutdown, then forceShutdown after the timeout. Idempotent. */
  shutdown(reason?: string): Promise<void>;
  /** Resolves once shut down. */
  readonly closed: Promise<void>;
}

interface BindContext {
  logger: Logger;
  metrics?: Metrics;
  /** Aborted by forced shutdown. */
  serverSignal: AbortSignal;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

function deadlineOf(call: { getDeadline(): grpc.Deadline }): Date | undefined {
  const d = call.getDeadline();
  const ms = d instanceof Date ? d.getTime() : d;
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}

type AnyServerCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown> | grpc.ServerReadableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>;

function makeContext(service: string, method: string, call: AnyServerCall, bind: BindContext): { ctx: CallContext; done: () => void } {
  const ac = new AbortController();
  const deadline = deadlineOf(call);
  const where = `${service}/${method}`;
  let timer: NodeJS.Timeout | undefined;
  if (deadline) {
    const ms = deadline.getTime() - Date.now();
    const fire = (): void => ac.abort(new DeadlineExceeded(`${where}: deadline exceeded`));
    if (ms <= 0) fire();
    else timer = setTimeout(fire, Math.min(ms, MAX_TIMER_MS));
  }
  const onCancel = (): void => {
    if (ac.signal.aborted) return;
    if (deadline && Date.now() >= deadline.getTime()) ac.abort(new DeadlineExceeded(`${where}: deadline exceeded`));
    else ac.abort(new Cancelled(`${where}: cancelled by the client`));
  };
  const emitter = call as unknown as NodeJS.EventEmitter;
  emitter.on('cancelled', onCancel);
  const onServerAbort = (): void => ac.abort(new Cancelled(`${where}: server shutting down`));
  bind.serverSignal.addEventListener('abort', onServerAbort);
  if (bind.serverSignal.aborted) onServerAbort();
  const ctx: CallContext = {
    service,
    method,
    signal: ac.signal,
    deadline,
    remainingMs: () => (deadline ? Math.max(0, deadline.getTime() - Date.now()) : Infinity),
    throwIfAborted: () => {
      if (ac.signal.aborted) throw ac.signal.reason;
    },
    metadata: call.metadata,
    peer: call.getPeer(),
    logger: bind.logger.child({ rpc: where }),
  };
  const done = (): void => {
    if (timer) clearTimeout(timer);
    emitter.removeListener('cancelled', onCancel);
    bind.serverSignal.removeEventListener('abort', onServerAbort);
  };
  return { ctx, done };
}

/** An error thrown after the call was aborted is reported as the abort reason. */
function effectiveError(err: unknown, ctx: CallContext): unknown {
  if (ctx.signal.aborted && !(err instanceof DeadlineExceeded) && !(err instanceof Cancelled)) {
    const reason: unknown = ctx.signal.reason;
    if (reason instanceof DeadlineExceeded || reason instanceof Cancelled) return reason;
  }
  return err;
}

function finish(ctx: CallContext, bind: BindContext, started: bigint, err: unknown | null): grpc.StatusObject | null {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (err === null) {
    bind.metrics?.observeRpc(ctx.service, ctx.method, 'OK', seconds);
    ctx.logger.debug({ code: 'OK', ms: Math.round(seconds * 1000) }, 'rpc ok');
    return null;
  }
  const mapped = toStatus(effectiveError(err, ctx), `${ctx.service.split('.').pop()}/${ctx.method}`);
  const code = statusName(mapped.code);
  bind.metrics?.observeRpc(ctx.service, ctx.method, code, seconds);
  if (mapped.unexpected) ctx.logger.error({ err, code, ms: Math.round(seconds * 1000) }, 'rpc failed unexpectedly');
  else ctx.logger.info({ code, details: mapped.details, ms: Math.round(seconds * 1000) }, 'rpc failed');
  return { code: mapped.code, details: mapped.details, metadata: mapped.metadata };
}

/** Waits for 'drain' or abort; returns false when aborted. */
async function drained(stream: NodeJS.EventEmitter, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  try {
    await once(stream, 'drain', { signal });
    return true;
  } catch {
    return false;
  }
}

/** Runs a single-answer handler (unary, client stream) and answers once: its result, or its error as a status. */
function answerOnce(run: () => unknown, ctx: CallContext, done: () => void, bind: BindContext, callback: grpc.sendUnaryData<unknown>): void {
  const started = process.hrtime.bigint();
  Promise.resolve()
    .then(run)
    .then(
      (res) => {
        done();
        if (ctx.signal.aborted) callback(finish(ctx, bind, started, ctx.signal.reason) as grpc.ServerErrorResponse);
        else {
          finish(ctx, bind, started, null);
          callback(null, res);
        }
      },
      (err: unknown) => {
        done();
        callback(finish(ctx, bind, started, err) as grpc.ServerErrorResponse);
      },
    );
}

/** Writes a streaming handler's messages (server and bidi streams) with back-pressure, then ends or errors the call. */
async function streamOut(
  run: () => AsyncIterable<unknown> | Iterable<unknown>,
  call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
  ctx: CallContext,
  done: () => void,
  bind: BindContext,
): Promise<void> {
  const started = process.hrtime.bigint();
  try {
    for await (const msg of run()) {
      ctx.throwIfAborted();
      if (!call.write(msg) && !(await drained(call, ctx.signal))) ctx.throwIfAborted();
    }
    ctx.throwIfAborted();
    finish(ctx, bind, started, null);
    call.end();
  } catch (err) {
    call.emit('error', finish(ctx, bind, started, err));
  } finally {
    done();
  }
}

function bindHandler(service: string, method: string, handler: AnyHandler, bind: BindContext): grpc.UntypedHandleCall {
  switch (handler.kind) {
    case 'unimplemented':
      // Any method shape: answer from whichever call object grpc-js gives us.
      return ((call: AnyServerCall, callback?: grpc.sendUnaryData<unknown>) => {
        const { ctx, done } = makeContext(service, method, call, bind);
        const status = finish(ctx, bind, process.hrtime.bigint(), new Unimplemented(handler.message));
        done();
        if (callback) callback(status as grpc.ServerErrorResponse);
        else (call as unknown as NodeJS.EventEmitter).emit('error', status);
      }) as grpc.UntypedHandleCall;
    case 'unary':
      return (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const { ctx, done } = makeContext(service, method, call, bind);
        answerOnce(() => handler.fn(call.request, ctx), ctx, done, bind, callback);
      };
    case 'serverStream':
      return (call: grpc.ServerWritableStream<unknown, unknown>) => {
        const { ctx, done } = makeContext(service, method, call, bind);
        void streamOut(() => handler.fn(call.request, ctx), call, ctx, done, bind);
      };
    case 'clientStream':
      return (call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const { ctx, done } = makeContext(service, method, call, bind);
        answerOnce(() => handler.fn(call as AsyncIterable<unknown>, ctx), ctx, done, bind, callback);
      };
    case 'bidiStream':
      return (call: grpc.ServerDuplexStream<unknown, unknown>) => {
        const { ctx, done } = makeContext(service, method, call, bind);
        void streamOut(() => handler.fn(call as AsyncIterable<unknown>, ctx), call, ctx, done, bind);
      };
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function addRegistration(server: grpc.Server, reg: ServiceRegistration<any>, bind: BindContext): void {
  const impl: grpc.UntypedServiceImplementation = {};
  for (const [key, def] of Object.entries(reg.definition as grpc.ServiceDefinition)) {
    const handler = (reg.handlers as Record<string, AnyHandler>)[key]!;
    const method = def.path.split('/')[2]!;
    impl[key] = bindHandler(reg.name, method, handler, bind);
  }
  server.addService(reg.definition, impl);
}

export async function createServer(opts: CreateServerOptions): Promise<RunningServer> {
  const logger = (opts.logger ?? silentLogger()).child({ server: opts.name });
  const maxBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const shutdownTimeoutMs = opts.shutdownTimeoutMs ?? 10_000;
  const server = new grpc.Server({
    'grpc.max_receive_message_length': maxBytes,
    'grpc.max_send_message_length': maxBytes,
  });
  const forced = new AbortController();
  const bind: BindContext = { logger, metrics: opts.metrics, serverSignal: forced.signal };
  const names = opts.services.map((s) => s.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new Error(`createServer(${opts.name}): service ${dup} registered twice`);

  const health = new HealthState();
  for (const reg of opts.services) addRegistration(server, reg, bind);
  addRegistration(server, healthService(health), bind);
  if (opts.reflection !== false) addReflection(server, [...names, HEALTH_SERVICE_NAME]);

  const host = opts.host ?? '0.0.0.0';
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${opts.port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  health.set('', ServingStatus.SERVING);
  for (const n of names) health.set(n, ServingStatus.SERVING);

  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let shutdownPromise: Promise<void> | undefined;
  const signalHandlers: [NodeJS.Signals, () => void][] = [];

  const shutdown = (reason = 'shutdown requested'): Promise<void> => {
    shutdownPromise ??= (async () => {
      logger.info({ reason }, 'shutting down');
      health.setAll(ServingStatus.NOT_SERVING);
      health.close();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          logger.warn({ timeoutMs: shutdownTimeoutMs }, 'graceful shutdown timed out; cancelling in-flight calls');
          forced.abort();
          server.forceShutdown();
          resolve();
        }, shutdownTimeoutMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      for (const [sig, h] of signalHandlers) process.removeListener(sig, h);
      logger.info('stopped');
      resolveClosed();
    })();
    return shutdownPromise;
  };

  if (opts.handleSignals) {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      const h = (): void => void shutdown(sig);
      signalHandlers.push([sig, h]);
      process.once(sig, h);
    }
  }

  const address = `${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${port}`;
  logger.info({ port, services: names }, 'listening');
  return { name: opts.name, port, address, health, server, serviceNames: names, shutdown, closed };
}
