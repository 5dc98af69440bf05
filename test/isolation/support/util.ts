import { request as httpRequest } from 'node:http';
import { Client } from 'pg';

export { prng } from '../../support/prng';

/** The seed of a property run: TEST_SEED when set (to replay), otherwise a fresh one. */
export function seedFromEnv(): number {
  return Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);
}

/** Calls `probe` until it returns a value other than undefined; fails after `tries` attempts. */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  { tries = 400, everyMs = 25 }: { tries?: number; everyMs?: number } = {},
): Promise<T> {
  for (let attempt = 0; attempt < tries; attempt++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`gave up waiting for ${what} after ${tries} tries`);
}

/** Pids of the backends of `database` (optionally: in `state`, running `marker`, of one application). */
export async function backends(
  admin: Client,
  filter: {
    database: string;
    marker?: string;
    applicationName?: string;
    state?: 'active' | 'idle in transaction';
  },
): Promise<number[]> {
  const { rows } = await admin.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity
      WHERE datname = $1 AND pid <> pg_backend_pid()
        AND ($2::text IS NULL OR strpos(query, $2) > 0)
        AND ($3::text IS NULL OR application_name = $3)
        AND ($4::text IS NULL OR state = $4)`,
    [filter.database, filter.marker ?? null, filter.applicationName ?? null, filter.state ?? null],
  );
  return rows.map((r) => r.pid);
}

/** Pids of the backends of `database` currently running a statement that contains `marker`. */
export function activeBackends(admin: Client, database: string, marker: string): Promise<number[]> {
  return backends(admin, { database, marker, state: 'active' });
}

/** A GET sent with node:http that the test can abort (socket destroyed) while it is in flight. */
export function abortableGet(baseUrl: string, path: string, token: string) {
  const req = httpRequest(new URL(path, baseUrl), {
    method: 'GET',
    headers: { Authorization: `Bearer ${token}` },
  });
  const outcome = new Promise<string>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      resolve(`status ${res.statusCode}`);
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(`error ${e.code ?? e.message}`));
  });
  req.end();
  return { outcome, abort: () => req.destroy() };
}
