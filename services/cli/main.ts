/**
 * `modelopt` command entry. Commands live in the dispatch table below: adding a command is one
 * entry (name → Command from its own module).
 */
import * as ort from 'onnxruntime-node';
import { DomainError } from '../core/errors.js';
import type { Command } from './command.js';
import { statusCommand } from './status.js';
import { upCommand } from './up.js';
import { quantizeCommand, reportCommand } from './quantize.js';
import { profileCommand } from './profile.js';
import { analyzeCommand } from './analyze.js';
import { batchCommand } from './batch.js';

export const COMMANDS: Record<string, Command> = {
  up: upCommand,
  status: statusCommand,
  quantize: quantizeCommand,
  report: reportCommand,
  profile: profileCommand,
  analyze: analyzeCommand,
  batch: batchCommand,
};

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}`);
  return `usage: modelopt <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun \`modelopt <command> --help\` for a command's options.\n`;
}

export async function main(argv: string[]): Promise<number> {
  // onnxruntime's warnings (initializers listed as inputs, ...) are not the user's business here.
  if (!argv.includes('--verbose')) ort.env.logLevel = 'error';
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(help());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`modelopt: unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof DomainError && err.code === 'INVALID_ARGUMENT') {
      process.stderr.write(`modelopt ${name}: ${err.message}\n\n${command.usage}\n`);
      return 2;
    }
    const msg = err instanceof DomainError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
    process.stderr.write(`modelopt ${name}: ${msg}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
