import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { accessSync, chmodSync, chownSync, constants, mkdtempSync, readFileSync } from 'node:fs';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { Client } from 'pg';
import { freePort } from '@app/dev-postgres';

/** The pgbouncer binary on PATH or in /usr/sbin, or undefined when it is not installed. */
export function findPgBouncer(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs.filter(Boolean)) {
    try {
      accessSync(join(dir, 'pgbouncer'), constants.X_OK);
      return join(dir, 'pgbouncer');
    } catch {
      // not here
    }
  }
  return undefined;
}

/** What to put behind PgBouncer. */
export interface PgBouncerOptions {
  /** The pgbouncer executable (see {@link findPgBouncer}). */
  binary: string;
  /** URLs of the users that may log in through PgBouncer; all on the same server and database. */
  urls: string[];
  /** Server connections per (database, user) pair of the main alias. Default: 2. */
  defaultPoolSize?: number;
  /** Further aliases of the same database, each with its own server pool size. */
  aliases?: { name: string; poolSize: number }[];
}

/** A PgBouncer process started by {@link startPgBouncer}. */
export interface RunningPgBouncer {
  port: number;
  /** The pgbouncer.ini it runs with. */
  config: string;
  /** `url` (same user and password) pointed at PgBouncer, at the main alias or `alias`. */
  via(url: string, alias?: string): string;
  /** Stops PgBouncer and removes its directory. */
  stop(): Promise<void>;
}

/** Unix user PgBouncer runs as when we are root (it refuses to run as root). */
function unprivilegedUser(): { name: string; uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
      return { name, uid, gid };
    } catch {
      // try the next one
    }
  }
  throw new Error('running as root and neither a postgres nor a nobody user exists for PgBouncer');
}

const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;

/**
 * Starts PgBouncer in transaction mode on a free port of 127.0.0.1 in front of the database of
 * `urls`, with a small server pool, an auth file holding the users' passwords from the URLs, and
 * its log and pid files in a private temp directory. Resolves once it answers a query.
 */
export async function startPgBouncer(options: PgBouncerOptions): Promise<RunningPgBouncer> {
  const targets = options.urls.map((u) => new URL(u));
  const first = targets[0];
  const database = decodeURIComponent(first.pathname.slice(1));
  const host = first.hostname === 'localhost' ? '127.0.0.1' : first.hostname;
  const serverPort = first.port || '5432';
  const users = new Map<string, string>();
  for (const t of targets)
    users.set(decodeURIComponent(t.username), decodeURIComponent(t.password));
  const withPasswords = [...users.values()].every((p) => p !== '');

  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'isolation-pgbouncer-'));
  const target = `host=${host} port=${serverPort} dbname=${database}`;
  const config = [
    '[databases]',
    `${database} = ${target}`,
    ...(options.aliases ?? []).map((a) => `${a.name} = ${target} pool_size=${a.poolSize}`),
    '',
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'unix_socket_dir =',
    `auth_type = ${withPasswords ? 'scram-sha-256' : 'trust'}`,
    `auth_file = ${join(dir, 'userlist.txt')}`,
    'pool_mode = transaction',
    `default_pool_size = ${options.defaultPoolSize ?? 2}`,
    'min_pool_size = 0',
    'reserve_pool_size = 0',
    'max_client_conn = 1000',
    'server_reset_query =',
    'ignore_startup_parameters = extra_float_digits',
    `logfile = ${join(dir, 'pgbouncer.log')}`,
    `pidfile = ${join(dir, 'pgbouncer.pid')}`,
    'log_connections = 0',
    'log_disconnections = 0',
    '',
  ].join('\n');
  const userlist = [...users].map(([u, p]) => `${quote(u)} ${quote(p)}`).join('\n') + '\n';
  writeFileSync(join(dir, 'pgbouncer.ini'), config, { mode: 0o600 });
  writeFileSync(join(dir, 'userlist.txt'), userlist, { mode: 0o600 });

  const runAs = unprivilegedUser();
  if (runAs) {
    for (const f of ['', 'pgbouncer.ini', 'userlist.txt'])
      chownSync(join(dir, f), runAs.uid, runAs.gid);
    chmodSync(dir, 0o700);
  }
  const args = [...(runAs ? ['-u', runAs.name] : []), join(dir, 'pgbouncer.ini')];
  const child: ChildProcess = spawn(options.binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const via = (url: string, alias?: string) => {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(port);
    u.pathname = `/${encodeURIComponent(alias ?? database)}`;
    return u.toString();
  };

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitUntilReady(via(options.urls[0]), child);
  } catch (error) {
    let log = '';
    try {
      log = readFileSync(join(dir, 'pgbouncer.log'), 'utf8');
    } catch {
      // no log yet
    }
    await stop();
    throw new Error(`PgBouncer did not start: ${String(error)}\n${stderr}\n${log}`);
  }
  return { port, config, via, stop };
}

async function waitUntilReady(url: string, child: ChildProcess): Promise<void> {
  let last: unknown;
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`pgbouncer exited (${child.exitCode ?? child.signalCode})`);
    }
    const client = new Client({ connectionString: url });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (error) {
      last = error;
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  throw last instanceof Error ? last : new Error(String(last));
}
