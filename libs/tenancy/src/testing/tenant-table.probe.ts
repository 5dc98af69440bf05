import { randomUUID } from 'node:crypto';
import type { TenantContext } from '../index';
import { IsolationFinding, IsolationProbeCode, probeFinding } from './isolation-finding';
import { Attempt, ProbeConnection } from './probe-connection';
import { quoted, TenantTable, TenantTableColumn } from './tenant-tables';

/** SQLSTATE insufficient_privilege: a policy's WITH CHECK (or USING) or a missing grant refused it. */
const REFUSED = '42501';

/** One of a tenant's rows, seen in its own context: where it lies (ctid) and its readable values. */
interface SampleRow {
  tid: string;
  /** The readable columns as jsonb text (kept as text: numbers must not pass through a double). */
  values: string;
}

/** A tenant whose rows the probes try to reach from elsewhere. */
interface Victim {
  name: string;
  context: TenantContext;
  row?: SampleRow;
}

/** Who runs a probe's statements: a tenant's context, or none at all. */
interface Intruder {
  name: string;
  context: TenantContext | null;
  /** The context may have rows of its own (a real tenant's). */
  ownsRows: boolean;
}

/** A shared row (tenant column NULL) and a context that can read it. */
interface SharedRow {
  tid: string;
  reader: TenantContext;
}

/** The two tenants of a run. */
export interface ProbeTenants {
  a: TenantContext;
  b: TenantContext;
}

/**
 * Probes one tenant table across the two tenants and with no context at all, in one transaction
 * that is rolled back, and returns what it found. Unexpected errors end the table's probes with a
 * `PROBE_FAILED` finding; the next table is probed all the same.
 */
export async function probeTenantTable(
  connection: ProbeConnection,
  table: TenantTable,
  tenants: ProbeTenants,
): Promise<IsolationFinding[]> {
  const probe = new TenantTableProbe(connection, table, tenants);
  try {
    await connection.rolledBack(() => probe.run());
  } catch (error) {
    probe.report(
      'PROBE_FAILED',
      `the probes stopped on an unexpected error (${error instanceof Error ? error.message : String(error)}); check that the connection's role may use the schema and table, and that the contexts are valid`,
    );
  }
  return probe.findings;
}

/** The probes of one table; {@link probeTenantTable} runs them. */
class TenantTableProbe {
  readonly findings: IsolationFinding[] = [];
  private readonly column: string;
  private readonly updatable?: TenantTableColumn;

  constructor(
    private readonly connection: ProbeConnection,
    private readonly table: TenantTable,
    private readonly tenants: ProbeTenants,
  ) {
    this.column = table.tenant.sql;
    this.updatable = table.tenant.update ? table.tenant : table.columns.find((c) => c.update);
  }

  /** Adds a finding about this table. */
  report(code: IsolationProbeCode, message: string): void {
    this.findings.push(
      probeFinding(code, this.table.relation, `${this.table.relation}: ${message}`),
    );
  }

  /** Runs every probe of the table (inside the transaction {@link probeTenantTable} opened). */
  async run(): Promise<void> {
    if (!this.table.tenant.select) {
      this.report(
        'PROBE_SKIPPED',
        `the connection's role may not read ${this.table.tenant.name}, so no probe can run; if the app never reads this table, add it to ignore`,
      );
      return;
    }
    const a = await this.victim('a');
    const b = await this.victim('b');
    const shared = this.table.shared ? await this.sharedRow() : undefined;
    const rounds: [Intruder, Victim[]][] = [
      [{ name: b.name, context: b.context, ownsRows: true }, [a]],
      [{ name: a.name, context: a.context, ownsRows: true }, [b]],
      [{ name: 'a connection with no tenant context', context: null, ownsRows: false }, [a, b]],
    ];
    for (const [intruder, victims] of rounds) {
      await this.read(intruder, victims);
      for (const victim of victims) {
        await this.targetedWrite(intruder, victim, 'UPDATE');
        await this.targetedWrite(intruder, victim, 'DELETE');
        await this.insert(intruder, victim);
        await this.upsert(intruder, victim);
      }
      await this.wholeTable(intruder, victims, shared, 'UPDATE');
      await this.wholeTable(intruder, victims, shared, 'DELETE');
      if (this.table.shared) await this.sharedWrites(intruder, victims);
    }
    await this.move(a, b);
    await this.move(b, a);
  }

  /**
   * A tenant with one of its own rows, read in its context; none when it has none, cannot read
   * them, or the role may not write the table at all (then only the read probes apply).
   */
  private async victim(side: 'a' | 'b'): Promise<Victim> {
    const context = this.tenants[side];
    const victim: Victim = { name: `tenant ${side} (${context.tenantId})`, context };
    if (!this.table.writable) return victim;
    const readable = this.table.columns.filter((c) => c.select).map((c) => `t.${c.sql}`);
    const found = await this.as(
      context,
      `SELECT x.ctid::text AS tid, (to_jsonb(x) - 'ctid')::text AS "values"
         FROM (SELECT t.ctid, ${readable.join(', ')} FROM ${this.table.sql} t
                WHERE t.${this.column} = $1 LIMIT 1) x`,
      [context.tenantId],
    );
    if (!found.ok) {
      this.report(
        'PROBE_SKIPPED',
        `${victim.name} cannot read its own rows (${found.code}: ${found.message}), so the probes that start from one of its rows (insert, move, upsert, whole-table writes) were skipped; give its context a role that may read the table`,
      );
    } else if (!found.rows.length) {
      this.report(
        'NO_TENANT_DATA',
        `${victim.name} has no rows here, so the insert, move, upsert and whole-table write probes against its rows were skipped; give it a row (as the owner, in its context) before the check`,
      );
    } else {
      victim.row = found.rows[0] as unknown as SampleRow;
    }
    return victim;
  }

  /** A shared row and a tenant that can read it, if any. */
  private async sharedRow(): Promise<SharedRow | undefined> {
    for (const reader of [this.tenants.a, this.tenants.b]) {
      const found = await this.as(
        reader,
        `SELECT t.ctid::text AS tid FROM ${this.table.sql} t WHERE t.${this.column} IS NULL LIMIT 1`,
      );
      if (found.ok && found.rows.length) return { tid: found.rows[0].tid as string, reader };
    }
    return undefined;
  }

  /** Runs one statement in `context`, in a step of its own (rolled back). */
  private as(context: TenantContext | null, sql: string, parameters: unknown[] = []) {
    return this.connection.step(async () => {
      await this.connection.as(context);
      return this.connection.attempt(sql, parameters);
    });
  }

  /** True when the row at `tid` is gone, in `owner`'s view: something updated or deleted it. */
  private async touched(tid: string, owner: TenantContext): Promise<boolean> {
    await this.connection.as(owner);
    const rows = await this.connection.query(
      `SELECT count(*)::int AS n FROM ${this.table.sql} t WHERE t.ctid = $1::tid`,
      [tid],
    );
    return rows[0].n === 0;
  }

  /** The intruder must see no row of another tenant (rows with a NULL tenant are shared, and fine). */
  private async read(intruder: Intruder, victims: Victim[]): Promise<void> {
    const seen = await this.as(
      intruder.context,
      `SELECT t.${this.column}::text AS tenant, count(*)::int AS n FROM ${this.table.sql} t
        WHERE t.${this.column} IS NOT NULL AND t.${this.column}::text IS DISTINCT FROM $1
        GROUP BY 1`,
      [intruder.context?.tenantId ?? null],
    );
    if (!seen.ok) {
      if (seen.code !== REFUSED) this.undecided(`${intruder.name}'s read`, seen, 'PROBE_FAILED');
      return;
    }
    const counts = new Map(seen.rows.map((r) => [r.tenant as string, r.n as number]));
    const total = [...counts.values()].reduce((sum, n) => sum + n, 0);
    if (!total) return;
    const ofVictims = victims.map((v) => `${counts.get(v.context.tenantId) ?? 0} of ${v.name}`);
    const others = total - victims.reduce((s, v) => s + (counts.get(v.context.tenantId) ?? 0), 0);
    const detail = [...ofVictims, ...(others ? [`${others} of other tenants`] : [])].join(', ');
    if (intruder.context) {
      this.report(
        'CROSS_TENANT_READ',
        `${intruder.name} reads ${total} row(s) of other tenants (${detail}); ${this.readFix()}`,
      );
    } else {
      this.report(
        'CONTEXTLESS_READ',
        `${intruder.name} reads ${total} tenant row(s) (${detail}); ${this.contextlessFix()}`,
      );
    }
  }

  /** `UPDATE ... WHERE tenant = victim` and `DELETE ... WHERE tenant = victim` must reach no row. */
  private async targetedWrite(
    intruder: Intruder,
    victim: Victim,
    command: 'UPDATE' | 'DELETE',
  ): Promise<void> {
    if (command === 'UPDATE' && !this.updatable) return;
    const u = this.updatable?.sql;
    const sql =
      command === 'UPDATE'
        ? `UPDATE ${this.table.sql} t SET ${u} = t.${u} WHERE t.${this.column} = $1`
        : `DELETE FROM ${this.table.sql} t WHERE t.${this.column} = $1`;
    const done = await this.as(intruder.context, sql, [victim.context.tenantId]);
    const what = `${command} ... WHERE ${this.table.tenant.name} = ${victim.name}'s id`;
    const reached = done.ok ? done.rowCount > 0 : done.code.startsWith('23');
    if (reached) {
      const how = done.ok
        ? `${done.rowCount} row(s)`
        : `its rows, and failed only on a constraint (${done.code}: ${done.message})`;
      this.report(
        this.writeCode(
          intruder,
          command === 'UPDATE' ? 'CROSS_TENANT_UPDATE' : 'CROSS_TENANT_DELETE',
        ),
        `${intruder.name}'s ${what} reached ${how}; ${this.usingFix(intruder)}`,
      );
    } else if (!done.ok && done.code !== REFUSED) {
      this.undecided(`${intruder.name}'s ${what}`, done);
    }
  }

  /** A copy of the victim's row, inserted by the intruder with the victim's tenant, must be refused. */
  private async insert(intruder: Intruder, victim: Victim): Promise<void> {
    if (!victim.row || !this.table.tenant.insert) return;
    const done = await this.as(
      intruder.context,
      this.insertSql(true),
      this.copy(victim.row, victim.context.tenantId),
    );
    const what = `${intruder.name}'s INSERT of a row with ${this.table.tenant.name} = ${victim.name}'s id`;
    const result = await this.written(done, done.ok && done.rowCount > 0);
    if (result) {
      this.report(
        this.writeCode(intruder, 'CROSS_TENANT_INSERT'),
        `${what} ${result}; ${this.checkFix()}`,
      );
    } else if (!done.ok && done.code !== REFUSED) {
      this.undecided(what, done);
    }
  }

  /**
   * INSERT ... ON CONFLICT (key) DO UPDATE with the victim's key, as the intruder (a tenant), must
   * neither write a row of the victim's tenant nor change the victim's row; with a key that omits
   * the tenant column, also with the intruder's own tenant in the row.
   */
  private async upsert(intruder: Intruder, victim: Victim): Promise<void> {
    const key = this.table.keys[0];
    const columns = this.table.columns.filter((c) => c.insert && c.select);
    const usable = key?.every((k) => columns.some((c) => c.name === k));
    if (!intruder.context || !victim.row || !this.updatable || !usable) return;
    const row = victim.row;
    const tenants = [victim.context.tenantId];
    if (!key.includes(this.table.tenant.name)) tenants.push(intruder.context.tenantId);
    const u = this.updatable.sql;
    const sql = `${this.insertSql(false)} ON CONFLICT (${key.map(quoted).join(', ')}) DO UPDATE SET ${u} = EXCLUDED.${u}`;
    for (const tenant of tenants) {
      const { done, touched } = await this.connection.step(async () => {
        await this.connection.as(intruder.context);
        const attempt = await this.connection.attempt(sql, this.copy(row, tenant));
        return {
          done: attempt,
          touched: attempt.ok && (await this.touched(row.tid, victim.context)),
        };
      });
      const own =
        tenant === victim.context.tenantId ? '' : ` and its own ${this.table.tenant.name}`;
      const what = `${intruder.name}'s INSERT ... ON CONFLICT (${key.join(', ')}) DO UPDATE with ${victim.name}'s key${own}`;
      const result = touched
        ? `changed ${victim.name}'s row`
        : await this.written(done, done.ok && tenant === victim.context.tenantId);
      if (result) {
        this.report('CROSS_TENANT_UPSERT', `${what} ${result}; ${this.checkFix()}`);
      } else if (!done.ok && done.code !== REFUSED) {
        this.undecided(what, done);
      }
    }
  }

  /**
   * `UPDATE t SET tenant = <own id>` and `DELETE FROM t` without WHERE, as the intruder: statements
   * that reference no column are checked only against the command's own policies (no SELECT
   * policy), so a FOR UPDATE or FOR DELETE policy looser than the tenant guard shows here. Every
   * victim's row (and a shared row) must still be there afterwards. When the intruder's own rows
   * make the statement fail (a foreign key restricting the delete of its own parent rows), it is
   * run again as a tenant that has no rows: the intruder's user and role with an unused tenant id;
   * for a context without rows, a constraint failing means it reached others' rows.
   */
  private async wholeTable(
    intruder: Intruder,
    victims: Victim[],
    shared: SharedRow | undefined,
    command: 'UPDATE' | 'DELETE',
  ): Promise<void> {
    const watched = victims.filter((v) => v.row);
    if (!watched.length && !shared) return;
    if (command === 'UPDATE' && (!intruder.context || !this.table.tenant.update)) return;
    const sql =
      command === 'UPDATE'
        ? `UPDATE ${this.table.sql} SET ${this.column} = $1`
        : `DELETE FROM ${this.table.sql}`;
    const what =
      command === 'UPDATE'
        ? `UPDATE without WHERE (SET ${this.table.tenant.name} = its own id)`
        : 'DELETE without WHERE';
    const code = this.writeCode(
      intruder,
      command === 'UPDATE' ? 'CROSS_TENANT_UPDATE' : 'CROSS_TENANT_DELETE',
    );
    const { done, hit, sharedHit } = await this.connection.step(async () => {
      await this.connection.as(intruder.context);
      const attempt = await this.connection.attempt(
        sql,
        command === 'UPDATE' ? [intruder.context!.tenantId] : [],
      );
      const hit: Victim[] = [];
      let sharedHit = false;
      if (attempt.ok) {
        for (const v of watched) if (await this.touched(v.row!.tid, v.context)) hit.push(v);
        sharedHit = !!shared && (await this.touched(shared.tid, shared.reader));
      }
      return { done: attempt, hit, sharedHit };
    });
    const verb = command === 'UPDATE' ? 'took' : 'deleted';
    for (const v of hit) {
      this.report(
        code,
        `${intruder.name}'s ${what} ${verb} ${v.name}'s row; ${this.usingFix(intruder)}`,
      );
    }
    if (sharedHit) {
      this.report(
        'SHARED_ROW_WRITE',
        `${intruder.name}'s ${what} ${verb} a shared row; ${this.sharedFix()}`,
      );
    }
    if (done.ok || done.code === REFUSED) return;
    if (intruder.ownsRows) {
      const { userId, role } = intruder.context!;
      const tenantId = randomUUID();
      const phantom: Intruder = {
        name: `a tenant without rows (${tenantId}, with ${intruder.name}'s user and role)`,
        context: { tenantId, userId, role },
        ownsRows: false,
      };
      try {
        return await this.wholeTable(phantom, victims, shared, command);
      } catch (error) {
        return this.undecided(`${intruder.name}'s ${what}`, {
          ok: false,
          code: done.code,
          message: `${done.message}; again as ${phantom.name}: ${error instanceof Error ? error.message : String(error)}`,
        });
      }
    }
    if (done.code.startsWith('23')) {
      this.report(
        code,
        `${intruder.name}'s ${what} reached rows of others, and failed only on a constraint (${done.code}: ${done.message}); ${this.usingFix(intruder)}`,
      );
    } else {
      this.undecided(`${intruder.name}'s ${what}`, done);
    }
  }

  /** Shared rows (tenant column NULL) may be read by every tenant but written by none. */
  private async sharedWrites(intruder: Intruder, victims: Victim[]): Promise<void> {
    const statements: [string, string][] = [
      [`DELETE FROM ${this.table.sql} t WHERE t.${this.column} IS NULL`, 'DELETE of shared rows'],
    ];
    if (this.updatable) {
      const u = this.updatable.sql;
      statements.push([
        `UPDATE ${this.table.sql} t SET ${u} = t.${u} WHERE t.${this.column} IS NULL`,
        'UPDATE of shared rows',
      ]);
    }
    for (const [sql, what] of statements) {
      const done = await this.as(intruder.context, sql);
      if (done.ok ? done.rowCount > 0 : done.code.startsWith('23')) {
        this.report(
          'SHARED_ROW_WRITE',
          `${intruder.name}'s ${what} reached ${done.ok ? `${done.rowCount} row(s)` : `them, and failed only on a constraint (${done.code})`}; ${this.sharedFix()}`,
        );
      } else if (!done.ok && done.code !== REFUSED) {
        this.undecided(`${intruder.name}'s ${what}`, done);
      }
    }
    const sample = victims.find((v) => v.row)?.row;
    if (!sample || !this.table.tenant.insert) return;
    const done = await this.as(intruder.context, this.insertSql(true), this.copy(sample, null));
    const what = `${intruder.name}'s INSERT of a shared row (${this.table.tenant.name} NULL)`;
    const result = await this.written(done, done.ok && done.rowCount > 0);
    if (result) {
      this.report('SHARED_ROW_WRITE', `${what} ${result}; ${this.sharedFix()}`);
    } else if (!done.ok && done.code !== REFUSED) {
      this.undecided(what, done);
    }
  }

  /** A tenant must not move its own row to the other tenant (nor, in a shared table, make it shared). */
  private async move(from: Victim, to: Victim): Promise<void> {
    if (!from.row || !this.table.tenant.update) return;
    const targets: [string | null, string][] = [[to.context.tenantId, `${to.name}'s id`]];
    if (this.table.shared) targets.push([null, 'NULL (shared)']);
    for (const [tenant, label] of targets) {
      const done = await this.as(
        from.context,
        `UPDATE ${this.table.sql} t SET ${this.column} = $1 WHERE t.ctid = $2::tid`,
        [tenant, from.row.tid],
      );
      const what = `${from.name}'s UPDATE of its own row to ${this.table.tenant.name} = ${label}`;
      const result = await this.written(done, done.ok && done.rowCount > 0);
      if (result) {
        this.report(
          tenant === null ? 'SHARED_ROW_WRITE' : 'CROSS_TENANT_MOVE',
          `${what} ${result}; ${tenant === null ? this.sharedFix() : this.checkFix()}`,
        );
      } else if (done.ok) {
        this.report(
          'PROBE_SKIPPED',
          `${from.name} may not update its own row, so the move probe (${what}) proved nothing; give its context a role that may update the table`,
        );
      } else if (done.code !== REFUSED) {
        this.undecided(what, done);
      }
    }
  }

  /**
   * `INSERT INTO t (columns) SELECT ... FROM jsonb_populate_record(NULL::t, ...)`: a copy of a row
   * (readable and insertable columns; the values $1 with the tenant column $2 set to $3, see
   * {@link copy}). With `fresh`, the copy gets new values for its unique keys, so that it conflicts
   * with no row: the database fills the key columns it can (a default or an identity), and a uuid
   * key column without one gets `gen_random_uuid()`; the tenant column is kept.
   */
  private insertSql(fresh: boolean): string {
    const keyed = new Set(this.table.keys.flat());
    const renewed = (c: TenantTableColumn) => fresh && c !== this.table.tenant && keyed.has(c.name);
    const columns = this.table.columns.filter(
      (c) => c.insert && c.select && !(renewed(c) && c.filled),
    );
    const list = columns.map((c) => c.sql).join(', ');
    const values = columns
      .map((c) => (renewed(c) && c.uuid ? 'gen_random_uuid()' : `r.${c.sql}`))
      .join(', ');
    return `INSERT INTO ${this.table.sql} (${list}) SELECT ${values}
              FROM jsonb_populate_record(NULL::${this.table.sql},
                                         $1::jsonb || jsonb_build_object($2::text, $3::text)) r`;
  }

  /** The parameters of {@link insertSql}: the row's values, with the tenant column set to `tenant`. */
  private copy(row: SampleRow, tenant: string | null): unknown[] {
    return [row.values, this.table.tenant.name, tenant];
  }

  /**
   * How a write that must be refused got through, or undefined when it did not: it wrote, or it
   * failed on a unique key or foreign key. PostgreSQL checks the policies' WITH CHECK before those
   * (a unique key when the row enters the index, a foreign key at the end of the statement), so
   * such a failure means the policies let the row through and only that conflict stopped it.
   */
  private async written(done: Attempt, wrote: boolean): Promise<string | undefined> {
    if (wrote) return 'succeeded';
    if (done.ok || !['23503', '23505'].includes(done.code) || !done.constraint) return undefined;
    const [found] = await this.connection.query(
      `SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = $1 AND contype IN ('p', 'u', 'f'))
           OR EXISTS (SELECT 1 FROM pg_class WHERE relname = $1 AND relkind IN ('i', 'I')) AS real`,
      [done.constraint],
    );
    return found.real
      ? `passed the policies and was stopped only by ${done.constraint} (${done.code}), which a row without that conflict would pass`
      : undefined;
  }

  /** A write with no context is CONTEXTLESS_WRITE, whatever it reached. */
  private writeCode(intruder: Intruder, code: IsolationProbeCode): IsolationProbeCode {
    return intruder.context ? code : 'CONTEXTLESS_WRITE';
  }

  /** Reports a probe that could not decide (or, for reads, failed). */
  private undecided(
    what: string,
    attempt: Extract<Attempt, { ok: false }>,
    code: IsolationProbeCode = 'PROBE_SKIPPED',
  ): void {
    this.report(
      code,
      `could not decide ${what}: it failed with ${attempt.code || 'an error'} (${attempt.message}) before showing whether a policy lets it through`,
    );
  }

  private readFix(): string {
    return `every policy that lets a row be read must require ${this.table.tenant.name} = the current tenant: PERMISSIVE policies are OR-ed, so one without the tenant test (USING (true)) opens the table; bound them with a RESTRICTIVE tenant guard (enableTenantRls() creates one) and ENABLE and FORCE ROW LEVEL SECURITY`;
  }

  private contextlessFix(): string {
    return `with no tenant set, the policies must admit no row: compare ${this.table.tenant.name} with NULLIF(current_setting('app.tenant_id', true), '')::uuid (currentTenantExpression()), never with a fallback, and ENABLE and FORCE ROW LEVEL SECURITY`;
  }

  private usingFix(intruder: Intruder): string {
    return intruder.context
      ? `the USING of every policy for UPDATE and DELETE (FOR ALL included) must require ${this.table.tenant.name} = the current tenant; a RESTRICTIVE tenant guard FOR ALL (enableTenantRls()) bounds them all`
      : this.contextlessFix();
  }

  private checkFix(): string {
    return `the WITH CHECK of every policy for INSERT and UPDATE (FOR ALL included) must require ${this.table.tenant.name} = the current tenant; a RESTRICTIVE tenant guard FOR ALL ... WITH CHECK (enableTenantRls()) bounds them all`;
  }

  private sharedFix(): string {
    return `tenants may read shared rows but never write them: every write policy of a shared table must require ${this.table.tenant.name} = the current tenant (never NULL), as enableSharedRls() does`;
  }
}
