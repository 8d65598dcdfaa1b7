/** Small flag parser for CLI subcommands: `--name value`, `--name=value`, boolean `--flag`. */
import { InvalidArgument } from '../core/errors.js';

export interface FlagSpec {
  /** Without the leading dashes. */
  name: string;
  kind: 'string' | 'int' | 'bool';
  help: string;
}

export type FlagValues = Record<string, string | number | boolean | undefined>;

export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[]): { values: FlagValues; positional: string[] } {
  const values: FlagValues = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq > 0 ? eq : undefined);
    const spec = specs.find((s) => s.name === name);
    if (!spec) throw new InvalidArgument(`unknown option --${name}`);
    if (spec.kind === 'bool') {
      values[name] = eq > 0 ? arg.slice(eq + 1) !== 'false' : true;
      continue;
    }
    let raw: string | undefined = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (raw === undefined) throw new InvalidArgument(`option --${name} needs a value`);
    if (spec.kind === 'int') {
      if (!/^\d+$/.test(raw)) throw new InvalidArgument(`option --${name}: expected a non-negative integer, got "${raw}"`);
      values[name] = Number(raw);
    } else values[name] = raw;
    raw = undefined;
  }
  return { values, positional };
}

export function flagHelp(specs: readonly FlagSpec[]): string {
  return specs.map((s) => `  --${s.name}${s.kind === 'bool' ? '' : ` <${s.kind === 'int' ? 'n' : 'value'}>`}\n      ${s.help}`).join('\n');
}
