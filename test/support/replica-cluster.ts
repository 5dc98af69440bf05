import { execFile, execFileSync } from 'node:child_process';
import { accessSync, appendFileSync, chownSync, constants, existsSync } from 'node:fs';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { Client } from 'pg';
import { freePort, prepareDatabase, withClient } from '@app/dev-postgres';
import { migrateUp } from '../../migrations/run-migrations';

/** The migrated test database on one server of the cluster, as `prepareDatabase` describes it. */
export interface ReplicaClusterNode {
  port: number;
  /** Superuser `postgres`, on the test database. */
  adminUrl: string;
  ownerUrl: string;
  appUrl: string;
  platformUrl: string;
}

/** A PostgreSQL primary and a streaming hot standby started by {@link startReplicaCluster}. */
export interface ReplicaCluster {
  /** Name of the migrated test database (the same on both servers). */
  database: string;
  primary: ReplicaClusterNode;
  /** The same database and roles, on the standby's port; read-only. */
  replica: ReplicaClusterNode;
  /** Resolves once the standby has replayed everything the primary had written when it was called. */
  waitForReplay(): Promise<void>;
  /** Pauses WAL replay on the standby (it keeps receiving WAL): a replica that lags. */
  pauseReplay(): Promise<void>;
  /** Resumes WAL replay on the standby. */
  resumeReplay(): Promise<void>;
  /** Stops the standby (fast shutdown, data kept): a replica that is down. */
  stopReplica(): Promise<void>;
  /** Starts the standby again and resolves once it accepts connections in recovery. */
  startReplica(): Promise<void>;
  /** Stops both servers and removes their data directories; idempotent. */
  stop(): Promise<void>;
  /** For logs, e.g. `PostgreSQL 15.20 primary 127.0.0.1:40001 + hot standby 127.0.0.1:40002 (...)`. */
  description: string;
}

const TOOLS = ['initdb', 'pg_ctl', 'postgres', 'pg_basebackup'];
const PASSWORD = 'replica-cluster-password';
const SLOT = 'replica_cluster';
const REPLAY_TIMEOUT_MS = 30_000;

/**
 * The first directory holding initdb, pg_ctl, postgres and pg_basebackup: `PG_BIN_DIR` when it is
 * set (and only it), otherwise the newest `/usr/lib/postgresql/<major>/bin`, then PATH.
 */
export function findPostgresBinDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = env.PG_BIN_DIR
    ? [env.PG_BIN_DIR]
    : [...debianBinDirs(), ...(env.PATH ?? '').split(delimiter)];
  return candidates.filter(Boolean).find((dir) => TOOLS.every((t) => executable(join(dir, t))));
}

/**
 * Why {@link startReplicaCluster} cannot run on this machine, or undefined when it can; a suite
 * prints it and skips (as the PgBouncer suites do when pgbouncer is missing).
 */
export function replicaToolsMissing(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!findPostgresBinDir(env)) {
    const where = env.PG_BIN_DIR
      ? `PG_BIN_DIR=${env.PG_BIN_DIR}`
      : '/usr/lib/postgresql/<major>/bin or on PATH';
    return (
      `no PostgreSQL server binaries (${TOOLS.join(', ')}) in ${where}; install the Debian ` +
      'package `postgresql` (apt-get install -y postgresql) or set PG_BIN_DIR to its bin directory ' +
      'to run the read-replica suites.'
    );
  }
  try {
    serverUser();
  } catch (error) {
    return `${(error as Error).message} to run the read-replica suites.`;
  }
  return undefined;
}

/**
 * Starts a private PostgreSQL primary (initdb in a fresh temp directory, a free port of 127.0.0.1,
 * password auth for the roles, trust for replication) with a fresh test database made by
 * `prepareDatabase` and migrated as the owner, then a hot standby cloned from it by
 * `pg_basebackup -X stream -R` through a replication slot. Resolves once the standby is in recovery
 * and has replayed the migrations. When started as root, the servers run as the `postgres` user.
 * On failure it stops what it started and throws with the tools' output and the servers' logs.
 */
export async function startReplicaCluster(): Promise<ReplicaCluster> {
  const missing = replicaToolsMissing();
  if (missing) throw new Error(missing);
  const bin = findPostgresBinDir()!;
  const runAs = serverUser();
  const dir = mkdtempSync(join(tmpdir(), 'tenancy-replica-cluster-'));
  if (runAs) chownSync(dir, runAs.uid, runAs.gid);
  const tools = new Tools(bin, dir, runAs);
  const primaryPort = await freePort();
  let replicaPort = await freePort();
  while (replicaPort === primaryPort) replicaPort = await freePort();
  const primary = new Server(tools, 'primary', primaryPort);
  const replica = new Server(tools, 'replica', replicaPort);
  const database = `tenancy_replica_${process.pid}_${Date.now().toString(36)}`;

  let stopping: Promise<void> | undefined;
  const killOnExit = () => {
    for (const server of [replica, primary]) server.stopNow();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killOnExit);
  const stop = () =>
    (stopping ??= (async () => {
      process.removeListener('exit', killOnExit);
      const failures: string[] = [];
      for (const server of [replica, primary]) {
        await server.stop().catch((e: Error) => failures.push(e.message));
      }
      rmSync(dir, { recursive: true, force: true });
      if (failures.length) throw new Error(failures.join('\n'));
    })());

  const primaryAdmin = adminUrl(primary.port, 'postgres');
  const replicaAdmin = adminUrl(replica.port, 'postgres');
  const waitForReplay = async () => {
    const target = await scalar<string>(primaryAdmin, 'SELECT pg_current_wal_lsn()::text');
    await pollReplica(replicaAdmin, `replay of the primary's WAL up to ${target}`, async (c) => {
      const { rows } = await c.query<{ done: boolean; replayed: string; pause: string }>(
        `SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done,
                pg_last_wal_replay_lsn()::text AS replayed,
                pg_get_wal_replay_pause_state() AS pause`,
        [target],
      );
      const [state] = rows;
      return state.done || `replayed up to ${state.replayed}, replay ${state.pause}`;
    });
  };

  try {
    const version = /\d+(\.\d+)+/.exec(await tools.run('postgres', ['--version']))?.[0];
    await primary.initialise();
    await primary.start();
    const prepared = await prepareDatabase(primaryAdmin, database);
    await migrateUp(prepared.ownerUrl);
    await tools.run('pg_basebackup', [
      `--pgdata=${replica.dataDir}`,
      '--host=127.0.0.1',
      `--port=${primary.port}`,
      '--username=postgres',
      '--wal-method=stream',
      '--write-recovery-conf',
      '--create-slot',
      `--slot=${SLOT}`,
      '--checkpoint=fast',
      '--no-sync',
    ]);
    appendFileSync(join(replica.dataDir, 'postgresql.auto.conf'), `port = ${replica.port}\n`);
    await replica.start();
    await waitForRecovery(replicaAdmin);
    await waitForReplay();
    const nodes = { primary: primary.port, replica: replica.port };
    const [primaryNode, replicaNode] = (['primary', 'replica'] as const).map((name) => ({
      port: nodes[name],
      adminUrl: onPort(prepared.adminUrl, nodes[name]),
      ownerUrl: onPort(prepared.ownerUrl, nodes[name]),
      appUrl: onPort(prepared.appUrl, nodes[name]),
      platformUrl: onPort(prepared.platformUrl, nodes[name]),
    }));
    return {
      database,
      primary: primaryNode,
      replica: replicaNode,
      waitForReplay,
      pauseReplay: async () => {
        await scalar(replicaAdmin, 'SELECT pg_wal_replay_pause()');
      },
      resumeReplay: async () => {
        await scalar(replicaAdmin, 'SELECT pg_wal_replay_resume()');
      },
      stopReplica: () => replica.stop(),
      startReplica: async () => {
        await replica.start();
        await waitForRecovery(replicaAdmin);
      },
      stop,
      description:
        `PostgreSQL ${version} primary 127.0.0.1:${primary.port} + hot standby ` +
        `127.0.0.1:${replica.port} (pg_basebackup -X stream, slot ${SLOT}; data: ${dir})`,
    };
  } catch (error) {
    const logs = [primary, replica].map((s) => s.logTail()).join('');
    await stop().catch(() => undefined);
    throw new Error(`the replica cluster did not start: ${(error as Error).message}${logs}`, {
      cause: error,
    });
  }
}

/** The OS user the servers run as when this process is root (PostgreSQL refuses root). */
interface OsUser {
  name: string;
  uid: number;
  gid: number;
}

/** Runs the PostgreSQL tools of one bin directory, as the server user, in the cluster directory. */
class Tools {
  constructor(
    private readonly bin: string,
    readonly dir: string,
    private readonly runAs: OsUser | undefined,
  ) {}

  run(tool: string, args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        join(this.bin, tool),
        args,
        {
          cwd: this.dir,
          encoding: 'utf8',
          timeout: 120_000,
          env: { ...process.env, LC_ALL: 'C', PGAPPNAME: 'replica-cluster' },
          ...(this.runAs ? { uid: this.runAs.uid, gid: this.runAs.gid } : {}),
        },
        (error, stdout, stderr) => {
          if (!error) return resolve(stdout + stderr);
          const how = error.killed ? `killed (${error.signal})` : `exit ${error.code}`;
          const output = `${stdout}${stderr}`.trim().replace(/\n/g, '\n  ');
          reject(new Error(`${tool} ${args.join(' ')} failed (${how}):\n  ${output}`));
        },
      );
    });
  }

  runNow(tool: string, args: string[]): void {
    execFileSync(join(this.bin, tool), args, {
      cwd: this.dir,
      stdio: 'ignore',
      timeout: 10_000,
      ...(this.runAs ? { uid: this.runAs.uid, gid: this.runAs.gid } : {}),
    });
  }

  /** Writes a file the server user owns. */
  write(path: string, content: string): void {
    writeFileSync(path, content, { mode: 0o600 });
    if (this.runAs) chownSync(path, this.runAs.uid, this.runAs.gid);
  }
}

/** One server of the cluster: its data directory, log file and port. */
class Server {
  readonly dataDir: string;
  private readonly log: string;
  private running = false;

  constructor(
    private readonly tools: Tools,
    readonly name: 'primary' | 'replica',
    readonly port: number,
  ) {
    this.dataDir = join(tools.dir, name);
    this.log = join(tools.dir, `${name}.log`);
  }

  /** initdb with the superuser `postgres`, then settings for streaming replication on 127.0.0.1. */
  async initialise(): Promise<void> {
    const pwfile = join(this.tools.dir, 'pwfile');
    this.tools.write(pwfile, `${PASSWORD}\n`);
    await this.tools.run('initdb', [
      `--pgdata=${this.dataDir}`,
      '--username=postgres',
      `--pwfile=${pwfile}`,
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '--encoding=UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    rmSync(pwfile);
    writeFileSync(
      join(this.dataDir, 'pg_hba.conf'),
      [
        'host replication postgres 127.0.0.1/32 trust',
        'host all all 127.0.0.1/32 scram-sha-256',
        '',
      ].join('\n'),
    );
    appendFileSync(
      join(this.dataDir, 'postgresql.conf'),
      [
        '',
        "listen_addresses = '127.0.0.1'",
        `port = ${this.port}`,
        "unix_socket_directories = ''",
        'wal_level = replica',
        'max_wal_senders = 4',
        'max_replication_slots = 4',
        'hot_standby = on',
        'fsync = off',
        '',
      ].join('\n'),
    );
  }

  /** pg_ctl start, waiting until the server accepts connections (a standby: until it is consistent). */
  async start(): Promise<void> {
    await this.tools.run('pg_ctl', ['start', '-D', this.dataDir, '-l', this.log, '-w', '-t', '60']);
    this.running = true;
  }

  /** pg_ctl stop -m fast; a no-op when this side never started the server or already stopped it. */
  async stop(): Promise<void> {
    if (!this.running && !existsSync(join(this.dataDir, 'postmaster.pid'))) return;
    try {
      await this.tools.run('pg_ctl', ['stop', '-D', this.dataDir, '-m', 'fast', '-w', '-t', '30']);
    } catch (error) {
      this.stopNow();
      if (existsSync(join(this.dataDir, 'postmaster.pid'))) throw error;
    }
    this.running = false;
  }

  /** Immediate shutdown, synchronously: for the process's exit hook and a failed fast stop. */
  stopNow(): void {
    if (!existsSync(join(this.dataDir, 'postmaster.pid'))) return;
    try {
      this.tools.runNow('pg_ctl', ['stop', '-D', this.dataDir, '-m', 'immediate', '-w']);
    } catch {
      // it was not running
    }
    this.running = false;
  }

  /** The last lines of the server log, for an error message. */
  logTail(): string {
    if (!existsSync(this.log)) return '';
    const lines = readFileSync(this.log, 'utf8').trim().split('\n').slice(-15);
    return `\n${this.name} log (${this.log}):\n  ${lines.join('\n  ')}`;
  }
}

function serverUser(): OsUser | undefined {
  if (userInfo().uid !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { name: 'postgres', uid, gid };
  } catch {
    throw new Error(
      'running as root, and there is no `postgres` OS user to run PostgreSQL as (it refuses root); ' +
        'create one (useradd --system --user-group postgres) or run as another user',
    );
  }
}

function debianBinDirs(): string[] {
  const root = '/usr/lib/postgresql';
  let majors: string[];
  try {
    majors = readdirSync(root).filter((d) => /^\d+$/.test(d));
  } catch {
    return [];
  }
  return majors.sort((a, b) => Number(b) - Number(a)).map((m) => join(root, m, 'bin'));
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function adminUrl(port: number, database: string): string {
  return `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/${database}`;
}

function onPort(url: string, port: number): string {
  const u = new URL(url);
  u.port = String(port);
  return u.toString();
}

async function scalar<T>(url: string, sql: string): Promise<T> {
  return withClient(url, async (c) => Object.values((await c.query(sql)).rows[0])[0] as T);
}

/** Waits until the standby accepts connections and says it is in recovery. */
function waitForRecovery(url: string): Promise<void> {
  return pollReplica(url, 'the standby to accept connections in recovery', async (c) => {
    const inRecovery = (await c.query('SELECT pg_is_in_recovery() AS r')).rows[0].r as boolean;
    return inRecovery || 'pg_is_in_recovery() is false';
  });
}

/**
 * Calls `probe` on one connection to the standby (reconnecting while it refuses) until it returns
 * true; otherwise fails after {@link REPLAY_TIMEOUT_MS} with the probe's last answer.
 */
async function pollReplica(
  url: string,
  what: string,
  probe: (c: Client) => Promise<true | string>,
): Promise<void> {
  const deadline = Date.now() + REPLAY_TIMEOUT_MS;
  let client: Client | undefined;
  let last = 'no answer yet';
  try {
    while (Date.now() < deadline) {
      try {
        if (!client) {
          const fresh = new Client({ connectionString: url });
          fresh.on('error', () => undefined);
          await fresh.connect().catch(async (e) => {
            await fresh.end().catch(() => undefined);
            throw e;
          });
          client = fresh;
        }
        const answer = await probe(client);
        if (answer === true) return;
        last = answer;
      } catch (error) {
        last = (error as Error).message;
        await client?.end().catch(() => undefined);
        client = undefined;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    await client?.end().catch(() => undefined);
  }
  throw new Error(`gave up after ${REPLAY_TIMEOUT_MS} ms waiting for ${what}: ${last}`);
}

/**
 * `describe` when a replica cluster can start here, otherwise `describe.skip` after printing why
 * (`[replicas] SKIPPED: ...`): the suites of test/replicas are declared with it.
 */
export function describeWithReplica(name: string, fn: () => void): void {
  const missing = replicaToolsMissing();
  if (missing) console.warn(`[replicas] SKIPPED: ${missing}`);
  (missing ? describe.skip : describe)(name, fn);
}
