/**
 * Service configuration from environment variables and command-line flags (flags win).
 *
 *   flag                 env                         default
 *   --port N             MODELOPT_PORT               per service (50051..50056)
 *   --host H             MODELOPT_HOST               0.0.0.0
 *   --metrics-port N     MODELOPT_METRICS_PORT       0 (disabled)
 *   --nats-url URL       MODELOPT_NATS_URL           "" (in-memory bus)
 *   --store-root DIR     MODELOPT_STORE_ROOT         ./.modelopt/store
 *   --log-level L        MODELOPT_LOG_LEVEL          info
 *   --device D           MODELOPT_DEVICE             auto   (cpu | cuda | auto)
 *   --max-message-bytes  MODELOPT_MAX_MESSAGE_BYTES  67108864
 *
 * Invalid values raise ConfigError with a message naming the flag/variable and the bad value.
 */
import path from 'node:path';
import { InvalidArgument } from './errors.js';
import { LOG_LEVELS } from './logging.js';
import type { LevelWithSilent } from 'pino';

export type Device = 'cpu' | 'cuda' | 'auto';
export const DEVICES: readonly Device[] = ['cpu', 'cuda', 'auto'];

export interface ServiceConfig {
  port: number;
  host: string;
  /** 0 disables the metrics side server. */
  metricsPort: number;
  /** Empty: embedded in-memory event bus. */
  natsUrl: string;
  storeRoot: string;
  logLevel: LevelWithSilent;
  device: Device;
  maxMessageBytes: number;
}

export class ConfigError extends InvalidArgument {}

interface OptionSpec {
  key: keyof ServiceConfig;
  flag: string;
  env: string;
  parse: (raw: string, where: string) => ServiceConfig[keyof ServiceConfig];
}

function parsePort(allowZero: boolean) {
  return (raw: string, where: string): number => {
    if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${where}: expected a port number, got "${raw}"`);
    const n = Number(raw);
    if (n > 65535 || (!allowZero && n === 0)) {
      throw new ConfigError(`${where}: port must be in ${allowZero ? '0' : '1'}..65535, got ${n}`);
    }
    return n;
  };
}

function parseNatsUrl(raw: string, where: string): string {
  if (raw === '') return '';
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(`${where}: not a URL: "${raw}" (expected nats://host:port)`);
  }
  if (!['nats:', 'tls:', 'ws:', 'wss:'].includes(u.protocol)) {
    throw new ConfigError(`${where}: unsupported scheme "${u.protocol}" in "${raw}" (expected nats://host:port)`);
  }
  return raw;
}

function parseNonEmpty(raw: string, where: string): string {
  if (raw.trim() === '') throw new ConfigError(`${where}: must not be empty`);
  return raw;
}

function parseLogLevel(raw: string, where: string): LevelWithSilent {
  const v = raw.toLowerCase() as LevelWithSilent;
  if (!LOG_LEVELS.includes(v)) throw new ConfigError(`${where}: log level must be one of ${LOG_LEVELS.join('|')}, got "${raw}"`);
  return v;
}

function parseDevice(raw: string, where: string): Device {
  const v = raw.toLowerCase() as Device;
  if (!DEVICES.includes(v)) throw new ConfigError(`${where}: device must be one of ${DEVICES.join('|')}, got "${raw}"`);
  return v;
}

function parseBytes(raw: string, where: string): number {
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${where}: expected a byte count, got "${raw}"`);
  const n = Number(raw);
  if (n < 1024 || n > 2 ** 31 - 1) throw new ConfigError(`${where}: must be in 1024..${2 ** 31 - 1}, got ${n}`);
  return n;
}

const SPECS: OptionSpec[] = [
  { key: 'port', flag: '--port', env: 'MODELOPT_PORT', parse: parsePort(true) },
  { key: 'host', flag: '--host', env: 'MODELOPT_HOST', parse: parseNonEmpty },
  { key: 'metricsPort', flag: '--metrics-port', env: 'MODELOPT_METRICS_PORT', parse: parsePort(true) },
  { key: 'natsUrl', flag: '--nats-url', env: 'MODELOPT_NATS_URL', parse: parseNatsUrl },
  { key: 'storeRoot', flag: '--store-root', env: 'MODELOPT_STORE_ROOT', parse: parseNonEmpty },
  { key: 'logLevel', flag: '--log-level', env: 'MODELOPT_LOG_LEVEL', parse: parseLogLevel },
  { key: 'device', flag: '--device', env: 'MODELOPT_DEVICE', parse: parseDevice },
  { key: 'maxMessageBytes', flag: '--max-message-bytes', env: 'MODELOPT_MAX_MESSAGE_BYTES', parse: parseBytes },
];

export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export function defaultConfig(overrides: Partial<ServiceConfig> = {}): ServiceConfig {
  return {
    port: 0,
    host: '0.0.0.0',
    metricsPort: 0,
    natsUrl: '',
    storeRoot: path.resolve('.modelopt/store'),
    logLevel: 'info',
    device: 'auto',
    maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
    ...overrides,
  };
}

export interface LoadConfigOptions {
  argv?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Per-service defaults (e.g. the port). */
  defaults?: Partial<ServiceConfig>;
  /** Flags other than ours are an error unless allowed here (they are returned in `rest`). */
  allowUnknown?: boolean;
}

export interface LoadedConfig {
  config: ServiceConfig;
  /** Arguments not consumed (only with allowUnknown). */
  rest: string[];
}

/** Reads env then argv (`--flag value` or `--flag=value`), validating every value. */
export function loadConfig(opts: LoadConfigOptions = {}): LoadedConfig {
  const env = opts.env ?? process.env;
  const argv = opts.argv ?? process.argv.slice(2);
  const config = defaultConfig(opts.defaults);
  const set = (spec: OptionSpec, raw: string, where: string): void => {
    (config as unknown as Record<string, unknown>)[spec.key] = spec.parse(raw, where);
  };
  for (const spec of SPECS) {
    const raw = env[spec.env];
    if (raw !== undefined && raw !== '') set(spec, raw, `environment variable ${spec.env}`);
  }
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const spec = SPECS.find((s) => s.flag === name);
    if (!spec) {
      if (opts.allowUnknown) {
        rest.push(arg);
        continue;
      }
      throw new ConfigError(`unknown option "${arg}" (known: ${SPECS.map((s) => s.flag).join(', ')})`);
    }
    let value: string;
    if (eq > 0) value = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new ConfigError(`option ${name} needs a value`);
      value = next;
      i++;
    }
    set(spec, value, `option ${name}`);
  }
  config.storeRoot = path.resolve(config.storeRoot);
  return { config, rest };
}
