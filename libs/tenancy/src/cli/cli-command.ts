import { CliIo } from './cli-io';

/** One command of the command line. */
export interface CliCommand {
  /** The word that selects it (`check`, `explain`). */
  name: string;
  /** One line for the overall usage. */
  summary: string;
  /** Its full usage, printed for `--help` and with a usage error. */
  usage: string;
  /** Runs it with the arguments after its name; resolves with the exit code. */
  run(argv: string[], io: CliIo): Promise<number>;
}
