/**
 * The flags of the reference command line (`python -m modelopt.onnx.quantization`), same names
 * and short aliases, plus kebab-case aliases and the mesh's own options.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgument, NotFound } from '../core/errors.js';
import { CALIBRATION_METHODS, QUANTIZE_MODES, DEFAULT_QUANTIZE_OPTIONS, type CalibrationMethod, type QuantizeMode, type QuantizeOptions } from '../core/quant-types.js';

export interface QuantizeArgs {
  onnxPath: string;
  outputPath: string;
  calibrationDataPath?: string;
  /** Held-out data for the accuracy comparison; defaults to the calibration data, else random. */
  evalDataPath?: string;
  options: QuantizeOptions;
  /** host:port of a running mesh (all services behind one address, or `modelopt up`'s first port); empty: embedded. */
  endpoint?: string;
  natsUrl?: string;
  compare: boolean;
  report: boolean;
  /** Also build and profile the original and the quantized model (latency in the report). */
  profile: boolean;
  json: boolean;
  device: 'cpu' | 'cuda' | 'auto';
}

type Kind = 'string' | 'list' | 'bool';
interface Spec {
  key: string;
  kind: Kind;
  short?: string;
  help: string;
}

export const QUANTIZE_FLAGS: Spec[] = [
  { key: 'onnx_path', kind: 'string', help: 'Input ONNX model without Q/DQ nodes (required).' },
  { key: 'output_path', kind: 'string', help: 'Output file; default <dir>/<model>.quant.onnx.' },
  { key: 'calibration_data_path', kind: 'string', short: 'c', help: 'Calibration data (.npz with one array per input, or .npy for one input). Random data when absent.' },
  { key: 'calibration_method', kind: 'string', help: `Calibration method: ${CALIBRATION_METHODS.join(', ')} (default entropy; FP8 always uses distribution).` },
  { key: 'op_types_to_quantize', kind: 'list', short: 't', help: 'Op types to quantize (space-separated).' },
  { key: 'op_types_to_exclude', kind: 'list', short: 'e', help: 'Op types to exclude (space-separated).' },
  { key: 'nodes_to_quantize', kind: 'list', short: 'q', help: 'Node names (regular expressions) to quantize.' },
  { key: 'nodes_to_exclude', kind: 'list', short: 'x', help: 'Node names (regular expressions) to exclude.' },
  { key: 'keep_intermediate_files', kind: 'bool', help: 'Keep the intermediate models (_opset13, _named).' },
  { key: 'use_external_data_format', kind: 'bool', help: 'Write weights to <output>_data.' },
  { key: 'verbose', kind: 'bool', help: 'Print every analyzer decision.' },
  { key: 'int4_block_size', kind: 'string', help: 'INT4 block length along the weight input axis (default 128).' },
  { key: 'quantize_mode', kind: 'string', help: `One of ${QUANTIZE_MODES.join(', ')} (default int8).` },
  { key: 'eval_data_path', kind: 'string', help: 'Held-out inputs for the accuracy comparison (.npz/.npy).' },
  { key: 'endpoint', kind: 'string', help: 'Address of a running mesh (host:port); default: start the services in this process.' },
  { key: 'nats', kind: 'string', help: 'NATS URL for events and artifacts in embedded mode (default $NATS_URL; none: in-memory bus).' },
  { key: 'no_compare', kind: 'bool', help: 'Skip the accuracy comparison.' },
  { key: 'no_report', kind: 'bool', help: 'Do not write the HTML report next to the output.' },
  { key: 'profile', kind: 'bool', help: 'Also profile the original and the quantized model (latency and slowest layers).' },
  { key: 'json', kind: 'bool', help: 'Print the result as JSON on stdout.' },
  { key: 'device', kind: 'string', help: 'cpu | cuda | auto (default auto).' },
];

export function quantizeUsage(): string {
  const lines = QUANTIZE_FLAGS.map((f) => `  --${f.key}${f.short ? `, -${f.short}` : ''}${f.kind === 'bool' ? '' : f.kind === 'list' ? ' <v> [<v> ...]' : ' <value>'}\n      ${f.help}`);
  return `usage: modelopt quantize --onnx_path model.onnx [options]\n\n${lines.join('\n')}\n\nKebab-case spellings (--onnx-path) are accepted too.`;
}

export function parseQuantizeArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): QuantizeArgs {
  const values = new Map<string, string | string[] | boolean>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = arg.slice(2, eq > 0 ? eq : undefined).replace(/-/g, '_');
      inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    } else if (/^-[a-z]$/.test(arg)) {
      const spec = QUANTIZE_FLAGS.find((f) => f.short === arg.slice(1));
      if (!spec) throw new InvalidArgument(`unknown option ${arg}`);
      name = spec.key;
    } else {
      throw new InvalidArgument(`unexpected argument "${arg}" (options start with --)`);
    }
    const spec = QUANTIZE_FLAGS.find((f) => f.key === name);
    if (!spec) throw new InvalidArgument(`unknown option --${name}`);
    if (spec.kind === 'bool') {
      values.set(spec.key, inline === undefined ? true : inline !== 'false');
    } else if (spec.kind === 'string') {
      const v = inline ?? argv[++i];
      if (v === undefined || (inline === undefined && v.startsWith('-') && v.length > 1 && !/^-\d/.test(v))) throw new InvalidArgument(`option --${spec.key} needs a value`);
      values.set(spec.key, v);
    } else {
      const list: string[] = inline !== undefined ? inline.split(',').filter(Boolean) : [];
      while (inline === undefined && i + 1 < argv.length && !argv[i + 1]!.startsWith('-')) list.push(argv[++i]!);
      if (list.length === 0) throw new InvalidArgument(`option --${spec.key} needs at least one value`);
      values.set(spec.key, [...((values.get(spec.key) as string[] | undefined) ?? []), ...list]);
    }
  }
  const str = (k: string): string | undefined => values.get(k) as string | undefined;
  const list = (k: string): string[] => (values.get(k) as string[] | undefined) ?? [];
  const bool = (k: string): boolean => values.get(k) === true;
  const positiveInt = (k: string, v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgument(`--${k} must be a positive integer, got "${v}"`);
    return n;
  };

  const onnxPath = str('onnx_path');
  if (!onnxPath) throw new InvalidArgument('--onnx_path is required');
  if (!/\.(onnx|pb)$/.test(onnxPath)) throw new InvalidArgument(`--onnx_path must end in .onnx or .pb: ${onnxPath}`);
  if (!fs.existsSync(onnxPath)) throw new NotFound(`model file not found: ${onnxPath}`);
  const mode = (str('quantize_mode') ?? 'int8') as QuantizeMode;
  if (!QUANTIZE_MODES.includes(mode)) throw new InvalidArgument(`unknown quantize_mode "${mode}"; expected one of ${QUANTIZE_MODES.join(', ')}`);
  const method = (str('calibration_method') ?? DEFAULT_QUANTIZE_OPTIONS.calibrationMethod) as CalibrationMethod;
  if (!CALIBRATION_METHODS.includes(method)) throw new InvalidArgument(`unknown calibration_method "${method}"; expected one of ${CALIBRATION_METHODS.join(', ')}`);
  for (const k of ['calibration_data_path', 'eval_data_path']) {
    const p = str(k);
    if (p && !fs.existsSync(p)) throw new NotFound(`--${k}: file not found: ${p}`);
    if (p && !/\.(npz|npy)$/.test(p)) throw new InvalidArgument(`--${k} must be a .npz or .npy file: ${p}`);
  }
  for (const k of ['nodes_to_quantize', 'nodes_to_exclude']) {
    for (const re of list(k)) {
      try {
        new RegExp(re);
      } catch (err) {
        throw new InvalidArgument(`--${k}: invalid regular expression "${re}": ${(err as Error).message}`);
      }
    }
  }
  const device = (str('device') ?? 'auto') as QuantizeArgs['device'];
  if (!['cpu', 'cuda', 'auto'].includes(device)) throw new InvalidArgument(`--device must be cpu, cuda or auto, got "${device}"`);
  const parsed = path.parse(onnxPath);
  const outputPath = str('output_path') ?? path.join(parsed.dir, `${parsed.name}.quant.onnx`);
  return {
    onnxPath: path.resolve(onnxPath),
    outputPath: path.resolve(outputPath),
    calibrationDataPath: str('calibration_data_path') && path.resolve(str('calibration_data_path')!),
    evalDataPath: str('eval_data_path') && path.resolve(str('eval_data_path')!),
    options: {
      quantizeMode: mode,
      calibrationMethod: method,
      opTypesToQuantize: list('op_types_to_quantize'),
      opTypesToExclude: list('op_types_to_exclude'),
      nodesToQuantize: list('nodes_to_quantize'),
      nodesToExclude: list('nodes_to_exclude'),
      useExternalDataFormat: bool('use_external_data_format'),
      keepIntermediateFiles: bool('keep_intermediate_files'),
      outputPath: path.resolve(outputPath),
      verbose: bool('verbose'),
      ...(str('int4_block_size') !== undefined ? { int4BlockSize: positiveInt('int4_block_size', str('int4_block_size')!) } : {}),
    },
    endpoint: str('endpoint') ?? (env.MODELOPT_ENDPOINT || undefined),
    natsUrl: str('nats') ?? (env.NATS_URL || undefined),
    compare: !bool('no_compare'),
    report: !bool('no_report'),
    profile: bool('profile'),
    json: bool('json'),
    device,
  };
}
