import { parseArgs } from 'node:util';
import { CliIo, CliUsageError } from './cli-io';

/** Options as `parseArgs` declares them. */
type Options = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

/** The parsed values: booleans, strings, or string arrays for repeatable options. */
type Values<T extends Options> = {
  [K in keyof T]?: T[K]['type'] extends 'boolean'
    ? boolean
    : T[K]['multiple'] extends true
      ? string[]
      : string;
};

/** Options every command takes. */
export const COMMON_OPTIONS = {
  url: { type: 'string' },
  format: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

/**
 * Parses a command's arguments strictly: an unknown option, a missing value or a stray argument
 * becomes a {@link CliUsageError}.
 */
export function parseCommand<T extends Options>(argv: string[], options: T): Values<T> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    const e = error as { code?: string; message?: string };
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const option = /'([^']+)'/.exec(e.message ?? '')?.[1] ?? '';
      throw new CliUsageError(`unknown option ${option}`);
    }
    if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      const argument = /'([^']+)'/.exec(e.message ?? '')?.[1] ?? '';
      throw new CliUsageError(`unexpected argument ${argument}`);
    }
    if (e.code?.startsWith('ERR_PARSE_ARGS_')) throw new CliUsageError(e.message ?? e.code);
    throw error;
  }
}

/** The output format, checked against the ones the command writes; `human` when none is given. */
export function formatOf<F extends string>(value: string | undefined, formats: readonly F[]): F {
  const format = value ?? 'human';
  if (!(formats as readonly string[]).includes(format)) {
    throw new CliUsageError(`unknown format "${format}": use ${formats.join(', ')}`);
  }
  return format as F;
}

/** The database URL: `--url`, else `DATABASE_URL`. */
export function databaseUrl(url: string | undefined, io: CliIo): string {
  const found = url ?? (io.env ?? process.env).DATABASE_URL;
  if (!found) throw new CliUsageError('no database: pass --url <postgres url> or set DATABASE_URL');
  return found;
}

/** A value the command cannot run without. */
export function required(value: string | undefined, option: string): string {
  if (value === undefined || value === '') throw new CliUsageError(`missing --${option}`);
  return value;
}
