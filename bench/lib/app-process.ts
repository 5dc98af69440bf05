import { ChildProcess, fork } from 'node:child_process';
import { resolve } from 'node:path';
import { ProfileSummary } from './cpu-profile';

export type AppKind = 'support' | 'sales' | 'baseline';

/** What the child process builds: one app, as the real apps are configured. */
export interface AppSpec {
  kind: AppKind;
  databaseUrl: string;
  jwtSecret: string;
  poolSize: number;
  /** pg pipeline mode of the library apps (ignored by the baseline, which never pipelines). */
  pipeline?: boolean;
  tenantStatusTtlMs?: number;
  /** The apps' preparedSettings (default true). */
  preparedSettings?: boolean;
  /** Install the statement log (a pg Client.prototype.query hook) in the child. */
  countStatements?: boolean;
  /** Baseline only: the JWT secret string re-parsed per verify instead of a key built once. */
  naiveJwt?: boolean;
  /** Baseline only: nestjs-cls's middleware mounted as the library mounts it (see BaselineConfig). */
  cls?: boolean;
  /** Baseline only: its ticket routes under RLS by hand, as the app role (see BaselineConfig). */
  rls?: boolean;
}

export type AppCommand = { id: number } & (
  | { type: 'start'; spec: AppSpec }
  | { type: 'cpu' }
  | { type: 'mark' }
  | { type: 'take' }
  | { type: 'profile-start' }
  | { type: 'profile-stop'; file?: string; requests?: number }
  | { type: 'close' }
);

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
export type AppCommandBody = DistributiveOmit<AppCommand, 'id'>;

export interface AppReply {
  id: number;
  ok: boolean;
  error?: string;
  url?: string;
  statements?: string[];
  flights?: number;
  cpuUs?: number;
  profile?: ProfileSummary;
}

/** An app under test running in a child process (bench/app-server.ts), reachable at `url`. */
export class AppProcess {
  url = '';
  private nextId = 0;
  private readonly pending = new Map<number, (reply: AppReply) => void>();

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (reply: AppReply) => {
      this.pending.get(reply.id)?.(reply);
      this.pending.delete(reply.id);
    });
    child.on('exit', (code) => {
      for (const [, done] of this.pending) done({ id: -1, ok: false, error: `exited (${code})` });
      this.pending.clear();
    });
  }

  /**
   * Forks the child, builds the app and starts it on a free port of 127.0.0.1. `root`: another
   * checkout of this repository to take the app (and the library) from, for A/B runs.
   */
  static async start(
    name: string,
    spec: AppSpec,
    root?: string,
    wrapper?: string[],
  ): Promise<AppProcess> {
    const dir = root ? resolve(root) : resolve(__dirname, '../..');
    // BENCH_NODE_FLAGS: extra node/V8 flags for the apps (e.g. --trace-deopt), space-separated.
    const flags = process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
    const node = [
      ...flags,
      '-r',
      'ts-node/register/transpile-only',
      '-r',
      'tsconfig-paths/register',
    ];
    const child = fork(resolve(dir, 'bench/app-server.ts'), [], {
      cwd: dir,
      // `wrapper`: a program that runs node itself (valgrind), given its own arguments first.
      ...(wrapper
        ? { execPath: wrapper[0], execArgv: [...wrapper.slice(1), process.execPath, ...node] }
        : { execArgv: node }),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const p = new AppProcess(name, child);
    try {
      p.url = (await p.send({ type: 'start', spec })).url!;
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
    return p;
  }

  /** Sends a command and waits for its reply; throws what the child reports. */
  send(cmd: AppCommandBody): Promise<AppReply> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (reply) =>
        reply.ok ? resolve(reply) : reject(new Error(`${this.name}: ${reply.error}`)),
      );
      this.child.send({ ...cmd, id });
    });
  }

  /** The child's process id. */
  get pid(): number {
    return this.child.pid!;
  }

  /** CPU time (user + system, µs) the app's process has used so far. */
  async cpu(): Promise<number> {
    return (await this.send({ type: 'cpu' })).cpuUs!;
  }

  /** Runs `fn` and returns the statements the app sent to PostgreSQL meanwhile. */
  async statementsDuring(
    fn: () => Promise<unknown>,
  ): Promise<{ statements: string[]; flights: number }> {
    await this.send({ type: 'mark' });
    await fn();
    const r = await this.send({ type: 'take' });
    return { statements: r.statements!, flights: r.flights! };
  }

  /** Closes the app (after its in-flight requests) and ends the process; kills it if it hangs. */
  async close(timeoutMs = 20_000): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    const timer = setTimeout(() => {
      console.error(`${this.name}: app.close() did not finish in ${timeoutMs} ms; killing it`);
      this.child.kill('SIGKILL');
    }, timeoutMs);
    try {
      await this.send({ type: 'close' }).catch(() => undefined);
      if (this.child.connected) this.child.disconnect();
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Starts several app processes at once. */
export async function startAll(
  specs: Record<string, AppSpec>,
): Promise<Record<string, AppProcess>> {
  const entries = Object.entries(specs);
  const started = await Promise.allSettled(
    entries.map(([name, spec]) => AppProcess.start(name, spec)),
  );
  const out: Record<string, AppProcess> = {};
  const failures: unknown[] = [];
  started.forEach((r, i) => {
    if (r.status === 'fulfilled') out[entries[i][0]] = r.value;
    else failures.push(r.reason);
  });
  if (failures.length) {
    await Promise.all(Object.values(out).map((p) => p.close()));
    throw failures[0];
  }
  return out;
}

/** Closes every app of a set. */
export async function closeAll(apps: Record<string, AppProcess>): Promise<void> {
  await Promise.all(Object.values(apps).map((p) => p.close()));
}
