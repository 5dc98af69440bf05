import { Client } from 'pg';

/** `url` with its password masked, for messages; the bare word when it is not a URL. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(a connection string that is not a URL)';
  }
}

/** The reason in an error, also for Node's AggregateError (both addresses refused), whose message is empty. */
function reasonOf(error: unknown): string {
  const e = error as { message?: unknown; code?: unknown; errors?: unknown[] } | undefined;
  if (typeof e?.message === 'string' && e.message) return e.message;
  const inner = (e?.errors ?? []).map(reasonOf).filter(Boolean);
  if (inner.length) return [...new Set(inner)].join('; ');
  return typeof e?.code === 'string' ? e.code : String(error);
}

/** Thrown when the command line cannot reach the database. */
export class CliConnectionError extends Error {
  override name = 'CliConnectionError';
}

/**
 * Runs `work` with a pg client connected to `url`, and closes it afterwards; a failure to connect
 * becomes a {@link CliConnectionError} that names the (redacted) URL and PostgreSQL's reason.
 */
export async function withConnection<T>(
  url: string,
  work: (client: Client) => Promise<T>,
): Promise<T> {
  const client = new Client({
    connectionString: url,
    connectionTimeoutMillis: 10_000,
    application_name: 'nestjs-rls-tenancy',
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw new CliConnectionError(`could not connect to ${redactUrl(url)}: ${reasonOf(error)}`);
  }
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
