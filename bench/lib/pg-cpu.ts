import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { Client } from 'pg';

function statOf(pid: number | string): { ppid: number; ticks: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may contain spaces) start after the last ')'.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return undefined;
  }
}

/**
 * CPU time of a local PostgreSQL server: the sum of user + system time of every process the
 * postmaster forked (backends, background workers), read from /proc. Only for a server on this
 * machine whose processes are visible (the embedded one); `undefined` otherwise.
 */
export class PgCpuMeter {
  private constructor(
    private readonly postmaster: number,
    private readonly usPerTick: number,
  ) {}

  static async open(adminUrl: string): Promise<PgCpuMeter | undefined> {
    if (process.platform !== 'linux') return undefined;
    const c = new Client({ connectionString: adminUrl });
    await c.connect();
    try {
      const r = await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const backend = statOf(r.rows[0].pid);
      if (!backend) return undefined;
      let hz = 100;
      try {
        hz = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
      } catch {
        // assume 100
      }
      return new PgCpuMeter(backend.ppid, 1e6 / hz);
    } finally {
      await c.end();
    }
  }

  /** CPU ticks so far of each child process of the server alive now. */
  sample(): Map<number, number> {
    const out = new Map<number, number>();
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const s = statOf(name);
      if (s && s.ppid === this.postmaster) out.set(Number(name), s.ticks);
    }
    return out;
  }

  /**
   * CPU (µs) used between two samples by the processes alive at the second (a process forked in
   * between counts from zero; one that exited in between, e.g. an idle pooled connection closed,
   * is left out).
   */
  usedBetween(before: Map<number, number>, after: Map<number, number>): number {
    let ticks = 0;
    for (const [pid, t] of after) ticks += t - (before.get(pid) ?? 0);
    return ticks * this.usPerTick;
  }
}
