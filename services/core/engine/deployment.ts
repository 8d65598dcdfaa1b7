/**
 * The deployment table (SPEC §5) and its validation. Shared by trt-builder and profiler.
 *
 * A deployment is a flat map of strings. `runtime` picks the table; `version` is always
 * required; every other missing key takes the first value its table lists; unknown keys and
 * values outside the table are rejected with InvalidArgument naming each of them.
 */
import { InvalidArgument } from '../errors.js';

export type Runtime = 'ORT' | 'TRT';
export const RUNTIMES: readonly Runtime[] = ['ORT', 'TRT'];

export type DeploymentKey = 'version' | 'accelerator' | 'precision' | 'onnx_opset';
export type DeploymentTable = Readonly<Record<DeploymentKey, readonly string[]>>;

/** Allowed values per runtime, in the order the reference lists them (the first is the default). */
export const DEPLOYMENT_TABLES: Readonly<Record<Runtime, DeploymentTable>> = {
  ORT: {
    version: ['1.16'],
    accelerator: ['CPU'],
    precision: ['fp32'],
    onnx_opset: ['13'],
  },
  TRT: {
    version: ['8.6', '9.1', '9.2', '9.3', '10.0'],
    accelerator: ['GPU'],
    precision: ['fp32', 'fp16', 'fp8', 'int8', 'int4'],
    onnx_opset: ['13', '14', '15', '16', '17', '18', '19'],
  },
};

export const DEPLOYMENT_KEYS: readonly DeploymentKey[] = ['version', 'accelerator', 'precision', 'onnx_opset'];

/** A validated deployment: every key present, every value taken from the runtime's table. */
export interface Deployment {
  readonly runtime: Runtime;
  readonly version: string;
  readonly accelerator: string;
  readonly precision: string;
  readonly onnx_opset: string;
}

function isRuntime(v: string): v is Runtime {
  return (RUNTIMES as readonly string[]).includes(v);
}

/**
 * Checks a requested deployment and fills in defaults.
 * Throws InvalidArgument when: `runtime` is missing or unknown, `version` is missing, a value is
 * not a string, a key is unknown, or a value is not in the runtime's table.
 */
export function validateDeployment(requested: Readonly<Record<string, unknown>>): Deployment {
  const runtime = requested['runtime'];
  if (runtime === undefined) {
    throw new InvalidArgument(`deployment: "runtime" was not set (one of ${RUNTIMES.join(', ')})`);
  }
  if (typeof runtime !== 'string') {
    throw new InvalidArgument(`deployment: "runtime" must be a string, got ${typeof runtime}`);
  }
  if (!isRuntime(runtime)) {
    throw new InvalidArgument(`deployment: runtime "${runtime}" is not supported (one of ${RUNTIMES.join(', ')})`);
  }
  const table = DEPLOYMENT_TABLES[runtime];

  const nonString = Object.entries(requested)
    .filter(([, v]) => v !== undefined && typeof v !== 'string')
    .map(([k, v]) => `${k} (${typeof v})`);
  if (nonString.length > 0) {
    throw new InvalidArgument(`deployment: values must be strings: ${nonString.join(', ')}`);
  }
  if (requested['version'] === undefined) {
    throw new InvalidArgument(`deployment: "version" must be provided for runtime ${runtime} (one of ${table.version.join(', ')})`);
  }

  const unknownKeys = Object.keys(requested).filter(
    (k) => k !== 'runtime' && !(DEPLOYMENT_KEYS as readonly string[]).includes(k),
  );
  if (unknownKeys.length > 0) {
    throw new InvalidArgument(
      `deployment: unknown key(s) ${unknownKeys.map((k) => `"${k}"`).join(', ')} (allowed: runtime, ${DEPLOYMENT_KEYS.join(', ')})`,
    );
  }

  const filled = {} as Record<DeploymentKey, string>;
  const badValues: string[] = [];
  for (const key of DEPLOYMENT_KEYS) {
    const v = requested[key];
    const value = typeof v === 'string' ? v : table[key][0]!;
    if (!table[key].includes(value)) {
      badValues.push(`${key}="${value}" (allowed for ${runtime}: ${table[key].join(', ')})`);
    }
    filled[key] = value;
  }
  if (badValues.length > 0) {
    throw new InvalidArgument(`deployment: invalid value(s) ${badValues.join('; ')}`);
  }
  return { runtime, ...filled };
}
