/** Where the command line writes, and the environment it reads (`DATABASE_URL`). */
export interface CliIo {
  /** Writes one block of output (a newline is added). */
  stdout(text: string): void;
  /** Writes one block of diagnostics (a newline is added). */
  stderr(text: string): void;
  /** Environment variables. Default: `process.env`. */
  env?: Record<string, string | undefined>;
}

/** The exit codes of the command line. */
export const CLI_EXIT = {
  /** The check found nothing; explain ran and every actual statement agreed. */
  ok: 0,
  /** The check found something; explain saw a statement disagree with its verdict. */
  findings: 1,
  /** It could not run: bad arguments, no connection, or a failed query. */
  failed: 2,
} as const;

/** Thrown for arguments the command line cannot use; reported with the command's usage. */
export class CliUsageError extends Error {
  override name = 'CliUsageError';
}

/** The process's own streams and environment. */
export function processCliIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(`${text}\n`),
    stderr: (text) => process.stderr.write(`${text}\n`),
    env: process.env,
  };
}
