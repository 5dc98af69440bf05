import { checkCommand } from './check.command';
import { CliCommand } from './cli-command';
import { CLI_EXIT, CliIo, CliUsageError, processCliIo } from './cli-io';
import { explainCommand } from './explain.command';

const COMMANDS: CliCommand[] = [checkCommand, explainCommand];

const USAGE = `usage: nestjs-rls-tenancy <command> [options]

commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(9)}${c.summary}`).join('\n')}

nestjs-rls-tenancy <command> --help shows a command's options.
exit codes: 0 clean, 1 findings, 2 could not run`;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The `nestjs-rls-tenancy` command line: runs the command `argv` names (`check`, `explain`; the
 * arguments after the program's name) and resolves with its exit code: 0 clean, 1 findings,
 * 2 could not run (bad arguments print the usage; a failed connection or query prints one line,
 * never a stack trace). Output goes to `io` (default: the process's streams).
 */
export async function runCli(argv: string[], io: CliIo = processCliIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout(USAGE);
    return CLI_EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr(`${name === undefined ? 'no command' : `unknown command "${name}"`}\n\n${USAGE}`);
    return CLI_EXIT.failed;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof CliUsageError) {
      io.stderr(`nestjs-rls-tenancy ${command.name}: ${error.message}\n\n${command.usage}`);
    } else {
      io.stderr(`nestjs-rls-tenancy ${command.name}: ${messageOf(error)}`);
    }
    return CLI_EXIT.failed;
  }
}
