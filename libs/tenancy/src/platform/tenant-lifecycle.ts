import {
  DEFAULT_SETTING_NAMES,
  DEFAULT_TENANT_COLUMN,
  TenancySettingNames,
} from '../tenancy.constants';
import { TenancyConfigurationError, TenancyError } from '../errors/tenancy.error';
import { qualifiedTable, quoteIdent, rowsOf, SqlExecutor } from '../migrations/sql';
import { settingsStatement } from '../typeorm/rls-transaction.subscriber';

/** A tenant in the registry. */
export interface TenantRecord {
  /** The tenant's uuid (the `tenant_id` of its rows). */
  id: string;
  /** Unique, URL-safe handle: lower-case letters, digits and "-". */
  slug: string;
  /** Display name. */
  name: string;
  /** A suspended tenant's tokens are refused with 403. */
  status: 'active' | 'suspended';
}

/** Options of {@link TenantLifecycle}. */
export interface TenantLifecycleOptions {
  /**
   * Role written to the role setting while exporting or deleting, so that role policies let the
   * platform see every row of the tenant (the tenant guard still applies). Default: `admin`.
   */
  platformRole?: string;
  /** Setting names. Default: the library's. */
  settings?: Partial<TenancySettingNames>;
  /** Column that marks a tenant table. Default: `tenant_id`. */
  tenantColumn?: string;
  /** Rows fetched per round trip while exporting (1 to 1,000,000). Default: `1000`. */
  batchSize?: number;
  /** Called with every operation, for the platform's log. Default: none. */
  log?: (message: string) => void;
}

/** Unknown tenant slug given to a lifecycle operation. */
export class TenantNotFoundError extends TenancyError {
  constructor(slug: string) {
    super(`no tenant with slug "${slug}"`);
  }
}

const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;
const PLATFORM_USER = '00000000-0000-0000-0000-000000000000';

/**
 * Platform operations on tenants (explicit, logged, never reachable with a tenant token): create,
 * suspend/activate, export and delete. Runs on a dedicated connection as the owner (or a platform
 * role): it sets each tenant's context itself, so FORCE RLS keeps every statement inside that tenant.
 * The tenant tables come from the catalog, so a new table is covered without code changes.
 */
export class TenantLifecycle {
  private readonly settings: TenancySettingNames;
  private readonly column: string;

  constructor(
    private readonly db: SqlExecutor,
    private readonly options: TenantLifecycleOptions = {},
  ) {
    this.settings = { ...DEFAULT_SETTING_NAMES, ...options.settings };
    this.column = options.tenantColumn ?? DEFAULT_TENANT_COLUMN;
    quoteIdent(this.column);
    const batch = options.batchSize;
    if (batch !== undefined && !(Number.isInteger(batch) && batch >= 1 && batch <= 1_000_000)) {
      throw new TenancyConfigurationError('batchSize must be a whole number from 1 to 1,000,000');
    }
  }

  /** Creates an active tenant; returns its id. */
  async create(slug: string, name: string): Promise<string> {
    if (!SLUG.test(slug))
      throw new TenancyError(`slug "${slug}" must be lower-case letters, digits and "-"`);
    if (!name?.trim() || name.length > 200)
      throw new TenancyError('name must be 1 to 200 characters');
    const [row] = rowsOf<{ id: string }>(
      await this.db.query(`INSERT INTO tenancy.tenants (slug, name) VALUES ($1, $2) RETURNING id`, [
        slug,
        name.trim(),
      ]),
    );
    this.log(`created tenant ${slug} (${row.id})`);
    return row.id;
  }

  /** Finds a tenant by slug; throws TenantNotFoundError. */
  async find(slug: string): Promise<TenantRecord> {
    const [row] = rowsOf<TenantRecord>(
      await this.db.query(`SELECT id, slug, name, status FROM tenancy.tenants WHERE slug = $1`, [
        slug,
      ]),
    );
    if (!row) throw new TenantNotFoundError(slug);
    return row;
  }

  /** Every tenant, ordered by slug. */
  async list(status?: TenantRecord['status']): Promise<TenantRecord[]> {
    return rowsOf<TenantRecord>(
      await this.db.query(
        `SELECT id, slug, name, status FROM tenancy.tenants WHERE ($1::text IS NULL OR status = $1) ORDER BY slug`,
        [status ?? null],
      ),
    );
  }

  /** Suspends or re-activates a tenant; its tokens follow within the status cache's staleness. */
  async setStatus(slug: string, status: TenantRecord['status']): Promise<TenantRecord> {
    const tenant = await this.find(slug);
    await this.db.query(`UPDATE tenancy.tenants SET status = $2 WHERE id = $1`, [
      tenant.id,
      status,
    ]);
    this.log(`${status === 'active' ? 'activated' : 'suspended'} tenant ${slug} (${tenant.id})`);
    return { ...tenant, status };
  }

  /** The tenant tables from the catalog, parents before children (foreign-key order). */
  async tenantTables(): Promise<string[]> {
    const rows = rowsOf<{ name: string; parents: string[] | null }>(
      await this.db.query(
        `SELECT format('%I.%I', n.nspname, c.relname) AS name,
                (SELECT array_agg(DISTINCT format('%I.%I', pn.nspname, p.relname))
                   FROM pg_constraint f JOIN pg_class p ON p.oid = f.confrelid
                   JOIN pg_namespace pn ON pn.oid = p.relnamespace
                  WHERE f.conrelid = c.oid AND f.contype = 'f' AND f.confrelid <> c.oid) AS parents
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = $1 AND NOT a.attisdropped
          WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          ORDER BY 1`,
        [this.column],
      ),
    );
    const names = new Set(rows.map((r) => r.name));
    const ordered: string[] = [];
    const visit = (name: string, path: Set<string>) => {
      if (ordered.includes(name) || path.has(name)) return;
      path.add(name);
      for (const p of rows.find((r) => r.name === name)?.parents ?? [])
        if (names.has(p)) visit(p, path);
      ordered.push(name);
    };
    rows.forEach((r) => visit(r.name, new Set()));
    return ordered;
  }

  /**
   * Streams every row of the tenant (not the shared rows it can read) from every tenant table, one
   * consistent snapshot, as JSON Lines
   * `{"table": "...", "row": {...}}` through `write`; returns the row count per table.
   */
  async export(
    slug: string,
    write: (line: string) => unknown,
    onProgress?: (table: string, done: number, total: number) => void,
  ): Promise<Record<string, number>> {
    const tenant = await this.find(slug);
    const tables = await this.tenantTables();
    const counts: Record<string, number> = {};
    const batch = this.options.batchSize ?? 1000;
    await this.inTenant(tenant, 'REPEATABLE READ, READ ONLY', async () => {
      for (const table of tables) {
        const t = qualifiedTable(table.replace(/"/g, ''));
        const own = `${quoteIdent(this.column)} = $1`;
        const [{ n }] = rowsOf<{ n: number }>(
          await this.db.query(`SELECT count(*)::int AS n FROM ${t.sql} WHERE ${own}`, [tenant.id]),
        );
        counts[t.name] = 0;
        onProgress?.(t.name, 0, n);
        await this.db.query(
          `DECLARE tenancy_export NO SCROLL CURSOR FOR SELECT to_jsonb(x) AS row FROM ${t.sql} x WHERE ${own}`,
          [tenant.id],
        );
        for (;;) {
          const rows = rowsOf<{ row: unknown }>(
            await this.db.query(`FETCH ${batch} FROM tenancy_export`),
          );
          for (const r of rows) await write(JSON.stringify({ table: t.name, row: r.row }));
          counts[t.name] += rows.length;
          onProgress?.(t.name, counts[t.name], n);
          if (rows.length < batch) break;
        }
        await this.db.query(`CLOSE tenancy_export`);
      }
    });
    this.log(`exported tenant ${slug} (${tenant.id}): ${JSON.stringify(counts)}`);
    return counts;
  }

  /**
   * Deletes every row of the tenant from every tenant table, children first, and then the tenant
   * itself, in one transaction; returns the deleted row count per table. Other tenants are untouched:
   * every statement runs under the tenant's own context.
   */
  async delete(slug: string): Promise<Record<string, number>> {
    const tenant = await this.find(slug);
    const tables = (await this.tenantTables()).reverse();
    const counts: Record<string, number> = {};
    await this.inTenant(tenant, 'READ COMMITTED', async () => {
      for (let pass = 0; pass < 2; pass++) {
        for (const table of tables) {
          const t = qualifiedTable(table.replace(/"/g, ''));
          const res = (await this.db.query(
            `DELETE FROM ${t.sql} WHERE ${quoteIdent(this.column)} = $1`,
            [tenant.id],
          )) as {
            rowCount?: number;
          };
          const deleted = Array.isArray(res) ? Number(res[1] ?? 0) : (res.rowCount ?? 0);
          counts[t.name] = (counts[t.name] ?? 0) + deleted;
        }
      }
      await this.db.query(`DELETE FROM tenancy.tenants WHERE id = $1`, [tenant.id]);
    });
    this.log(`deleted tenant ${slug} (${tenant.id}): ${JSON.stringify(counts)}`);
    return counts;
  }

  private async inTenant(
    tenant: TenantRecord,
    mode: string,
    fn: () => Promise<void>,
  ): Promise<void> {
    await this.db.query(`BEGIN ISOLATION LEVEL ${mode}`);
    try {
      await this.db.query(
        ...settingsStatement(this.settings, {
          tenantId: tenant.id,
          userId: PLATFORM_USER,
          role: this.options.platformRole ?? 'admin',
          requestId: `platform:${Date.now()}`,
        }),
      );
      await fn();
      await this.db.query('COMMIT');
    } catch (error) {
      await this.db.query('ROLLBACK');
      throw error;
    }
  }

  private log(message: string): void {
    this.options.log?.(`[tenancy platform] ${message}`);
  }
}
