/** Shape of one `modelopt` subcommand (see the dispatch table in main.ts). */
export interface Command {
  /** One line for `modelopt help`. */
  summary: string;
  /** Usage text printed by `modelopt <cmd> --help` and on bad arguments. */
  usage: string;
  /** Runs the command; resolves with the process exit code. */
  run(argv: string[]): Promise<number>;
}
