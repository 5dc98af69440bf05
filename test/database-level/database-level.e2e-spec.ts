import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { NoticeMessage } from 'pg-protocol/dist/messages';
import { DEMO_TENANTS } from '@app/demo-kit';
import { seedSupport } from '../../apps/support-api/src/seed';
import { seedSales } from '../../apps/sales-api/src/seed';
import { connect, inTenant } from '../support/db';

const ACME = DEMO_TENANTS.acme.id;
const GLOBEX = DEMO_TENANTS.globex.id;
const SCHEMAS = ['tenancy', 'support', 'sales'];

interface TenantTable {
  name: string;
  shared: boolean;
  pk: string[];
  columns: string[];
  policy: string;
}

/**
 * As the application role, with no application code at all: every tenant table (found in the
 * catalog, so a new table is covered without changing this file) refuses every way across tenants.
 */
describe('database level: the app role cannot cross tenants', () => {
  let owner: Client;
  let app: Client;
  let tables: TenantTable[];

  const expectDenied = (p: Promise<unknown>) => expect(p).rejects.toMatchObject({ code: '42501' });
  const asAdmin = { userId: '00000000-0000-4000-8000-0000000000ad', role: 'admin' };

  beforeAll(async () => {
    owner = await connect('owner');
    app = await connect('app');
    for (const t of Object.values(DEMO_TENANTS)) {
      await owner.query(
        `INSERT INTO tenancy.tenants (id, slug, name, status) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`,
        [t.id, t.slug, t.name, t.status],
      );
    }
    await seedSupport(owner);
    await seedSales(owner);
    const rows = await owner.query<{
      name: string;
      shared: boolean;
      pk: string[] | null;
      columns: string[];
      policy: string;
    }>(
      `SELECT format('%s.%s', n.nspname, c.relname) AS name, NOT a.attnotnull AS shared,
              (SELECT array_agg(pa.attname::text ORDER BY k.ord)
                 FROM pg_constraint pc CROSS JOIN LATERAL unnest(pc.conkey) WITH ORDINALITY k(attnum, ord)
                 JOIN pg_attribute pa ON pa.attrelid = pc.conrelid AND pa.attnum = k.attnum
                WHERE pc.conrelid = c.oid AND pc.contype = 'p') AS pk,
              (SELECT array_agg(format('%I', ca.attname) ORDER BY ca.attnum) FROM pg_attribute ca
                WHERE ca.attrelid = c.oid AND ca.attnum > 0 AND NOT ca.attisdropped AND ca.attgenerated = ''
                  AND ca.attidentity <> 'a') AS columns,
              (SELECT min(polname) FROM pg_policy WHERE polrelid = c.oid) AS policy
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
        WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY($1) ORDER BY 1`,
      [SCHEMAS],
    );
    tables = rows.rows.map((r) => ({ ...r, pk: r.pk ?? [] }));
  });

  afterAll(async () => {
    await owner.end();
    await app.end();
  });

  it('finds the tenant tables of both apps in the catalog', () => {
    expect(tables.map((t) => t.name)).toEqual(
      expect.arrayContaining([
        'support.tickets',
        'support.ticket_comments',
        'support.kb_articles',
        'sales.accounts',
        'sales.deals',
        'sales.team_members',
      ]),
    );
  });

  it('has seed rows of both demo tenants in every tenant table (so the checks below bite)', async () => {
    for (const t of tables) {
      for (const tenant of [ACME, GLOBEX]) {
        const n = await inTenant(
          owner,
          tenant,
          async () =>
            (
              await owner.query(`SELECT count(*)::int AS n FROM ${t.name} WHERE tenant_id = $1`, [
                tenant,
              ])
            ).rows[0].n,
          asAdmin,
        );
        expect({ table: t.name, tenant, hasRows: n > 0 }).toEqual({
          table: t.name,
          tenant,
          hasRows: true,
        });
      }
    }
  });

  it('shows zero rows in every tenant table with no settings, on a fresh and on a reused connection', async () => {
    const fresh = await connect('app');
    try {
      await inTenant(app, ACME, async () => undefined, asAdmin);
      for (const c of [fresh, app]) {
        for (const t of tables) {
          const { n } = (await c.query(`SELECT count(*)::int AS n FROM ${t.name}`)).rows[0];
          expect({ table: t.name, n }).toEqual({ table: t.name, n: 0 });
        }
      }
    } finally {
      await fresh.end();
    }
  });

  it('refuses inserts into every tenant table with no settings', async () => {
    for (const t of tables) {
      await expectDenied(app.query(`INSERT INTO ${t.name} (tenant_id) VALUES ($1)`, [ACME]));
    }
  });

  it("returns zero rows of B when A's settings ask for tenant_id = B", async () => {
    for (const t of tables) {
      const n = await inTenant(
        app,
        ACME,
        async () =>
          (
            await app.query(`SELECT count(*)::int AS n FROM ${t.name} WHERE tenant_id = $1`, [
              GLOBEX,
            ])
          ).rows[0].n,
        asAdmin,
      );
      expect({ table: t.name, n }).toEqual({ table: t.name, n: 0 });
    }
  });

  it("refuses to insert B's id, to move a row to B, and INSERT ... ON CONFLICT against B's key", async () => {
    for (const t of tables) {
      const globexRow = await inTenant(
        owner,
        GLOBEX,
        async () =>
          (
            await owner.query(
              `SELECT to_jsonb(x) AS row FROM ${t.name} x WHERE tenant_id = $1 LIMIT 1`,
              [GLOBEX],
            )
          ).rows[0].row,
        asAdmin,
      );
      await expectDenied(
        inTenant(
          app,
          ACME,
          () => app.query(`INSERT INTO ${t.name} (tenant_id) VALUES ($1)`, [GLOBEX]),
          asAdmin,
        ),
      );
      await expectDenied(
        inTenant(
          app,
          ACME,
          () =>
            app.query(`UPDATE ${t.name} SET tenant_id = $1 WHERE tenant_id = $2`, [GLOBEX, ACME]),
          asAdmin,
        ),
      );
      await expectDenied(
        inTenant(
          app,
          ACME,
          () =>
            app.query(
              `INSERT INTO ${t.name} (${t.columns.join(', ')}) SELECT ${t.columns.join(', ')} FROM jsonb_populate_record(NULL::${t.name}, $1) ON CONFLICT DO NOTHING`,
              [globexRow],
            ),
          asAdmin,
        ),
      );
      if (t.pk.length) {
        const set = t.pk.includes('tenant_id')
          ? 'tenant_id = EXCLUDED.tenant_id'
          : `${t.pk[0]} = EXCLUDED.${t.pk[0]}`;
        await expectDenied(
          inTenant(
            app,
            ACME,
            () =>
              app.query(
                `INSERT INTO ${t.name} (${t.columns.join(', ')}) SELECT ${t.columns.join(', ')} FROM jsonb_populate_record(NULL::${t.name}, $1)
               ON CONFLICT (${t.pk.join(', ')}) DO UPDATE SET ${set}`,
                [globexRow],
              ),
            asAdmin,
          ),
        );
      }
    }
  });

  it('leaves B untouched by A updating and deleting everything it can', async () => {
    const count = async () => {
      const out: Record<string, number> = {};
      for (const t of tables) {
        out[t.name] = await inTenant(
          owner,
          GLOBEX,
          async () =>
            (
              await owner.query(`SELECT count(*)::int AS n FROM ${t.name} WHERE tenant_id = $1`, [
                GLOBEX,
              ])
            ).rows[0].n,
          asAdmin,
        );
      }
      return out;
    };
    const before = await count();
    await app.query('BEGIN');
    await app.query(
      `SELECT set_config('app.tenant_id', $1, true), set_config('app.role', 'admin', true)`,
      [ACME],
    );
    for (const t of tables) {
      for (const [verb, sql] of [
        ['UPDATE', `UPDATE ${t.name} SET tenant_id = tenant_id WHERE tenant_id = $1`],
        ['DELETE', `DELETE FROM ${t.name} WHERE tenant_id = $1`],
      ]) {
        const granted = (
          await app.query(
            `SELECT CASE $2 WHEN 'UPDATE' THEN has_column_privilege($1, 'tenant_id', $2)
                            ELSE has_table_privilege($1, $2) END AS ok`,
            [t.name, verb],
          )
        ).rows[0].ok as boolean;
        await app.query('SAVEPOINT attempt');
        const outcome = await app.query(sql, [GLOBEX]).then(
          (r) => `affected ${r.rowCount}`,
          (e: { code?: string }) => `error ${e.code}`,
        );
        await app.query('ROLLBACK TO SAVEPOINT attempt');
        expect({ table: t.name, verb, outcome }).toEqual({
          table: t.name,
          verb,
          outcome: granted ? 'affected 0' : 'error 42501',
        });
      }
    }
    await app.query('ROLLBACK');
    expect(await count()).toEqual(before);
  });

  it("answers A's write of B's knowledge-base article id as one of a free id: permission denied, never 23505", async () => {
    const articleOf = (tenant: string) =>
      inTenant(
        owner,
        tenant,
        async () =>
          (
            await owner.query(
              `SELECT id, tenant_id, title FROM support.kb_articles WHERE tenant_id = $1 ORDER BY id LIMIT 1`,
              [tenant],
            )
          ).rows[0] as { id: string; tenant_id: string; title: string },
      );
    const [globex, acme] = [await articleOf(GLOBEX), await articleOf(ACME)];
    const attempt = (sql: string, params: unknown[]) =>
      inTenant(app, ACME, () => app.query(sql, params), asAdmin).then(
        (r) => `affected ${r.rowCount}`,
        (e: { code?: string }) => `error ${e.code}`,
      );
    const insert = `INSERT INTO support.kb_articles (id, tenant_id, title, body) VALUES ($1, $2, 'probe', 'probe')`;
    expect({
      taken: await attempt(insert, [globex.id, ACME]),
      free: await attempt(insert, [randomUUID(), ACME]),
      upsert: await attempt(`${insert} ON CONFLICT (id) DO NOTHING`, [globex.id, ACME]),
      moved: await attempt(`UPDATE support.kb_articles SET id = $1 WHERE id = $2`, [
        globex.id,
        acme.id,
      ]),
    }).toEqual({
      taken: 'error 42501',
      free: 'error 42501',
      upsert: 'error 42501',
      moved: 'error 42501',
    });
    expect(await articleOf(GLOBEX)).toEqual(globex);
    expect(await articleOf(ACME)).toEqual(acme);
    const probes = await inTenant(owner, ACME, () =>
      owner.query(`SELECT id FROM support.kb_articles WHERE title = 'probe'`),
    );
    expect(probes.rows).toEqual([]);
  });

  it('denies the app role temporary tables, which would outlive the request on a pooled connection', async () => {
    const temporary = await app.query(
      `SELECT has_database_privilege(current_database(), 'TEMPORARY') AS temporary`,
    );
    expect(temporary.rows).toEqual([{ temporary: false }]);
    await expectDenied(app.query('CREATE TEMP TABLE x (a int)'));
    await expectDenied(
      inTenant(
        app,
        ACME,
        () => app.query('CREATE TEMP TABLE leak AS SELECT * FROM support.tickets'),
        asAdmin,
      ),
    );
    const leak = await app.query(`SELECT to_regclass('pg_temp.leak') AS leak`);
    expect(leak.rows).toEqual([{ leak: null }]);
  });

  it('denies TRUNCATE, ALTER TABLE and DISABLE ROW LEVEL SECURITY on every tenant table', async () => {
    for (const t of tables) {
      await expectDenied(app.query(`TRUNCATE ${t.name}`));
      await expectDenied(app.query(`ALTER TABLE ${t.name} ADD COLUMN pwned int`));
      await expectDenied(app.query(`ALTER TABLE ${t.name} DISABLE ROW LEVEL SECURITY`));
      await expectDenied(app.query(`ALTER TABLE ${t.name} NO FORCE ROW LEVEL SECURITY`));
      await expectDenied(app.query(`DROP POLICY ${t.policy} ON ${t.name}`));
    }
  });

  it('keeps the audit log append-only for the app role: no INSERT, UPDATE, DELETE or TRUNCATE', async () => {
    for (const sql of [
      `INSERT INTO tenancy.audit_log (tenant_id, table_name, row_key, action, changes) VALUES ('${ACME}', 'x', '{}', 'INSERT', '{}')`,
      `UPDATE tenancy.audit_log SET changes = '{}'`,
      `DELETE FROM tenancy.audit_log`,
      `TRUNCATE tenancy.audit_log`,
    ]) {
      await expectDenied(inTenant(app, ACME, () => app.query(sql), asAdmin));
    }
  });

  it('denies SET ROLE to the owner and to a superuser', async () => {
    await expectDenied(app.query('SET ROLE tenancy_owner'));
    await expectDenied(app.query('SET ROLE postgres'));
    await expectDenied(app.query('SET SESSION AUTHORIZATION tenancy_owner'));
  });

  it("lets a cheap non-leakproof function in WHERE (PostgreSQL's f_leak probe) see only A's rows", async () => {
    await owner.query(`CREATE SCHEMA IF NOT EXISTS probe`);
    await owner.query(`
      CREATE OR REPLACE FUNCTION probe.f_leak(text) RETURNS boolean COST 0.0000001 LANGUAGE plpgsql
      AS $$ BEGIN RAISE NOTICE 'f_leak => %', $1; RETURN true; END $$`);
    await owner.query(`GRANT USAGE ON SCHEMA probe TO app_user`);
    await owner.query(`GRANT EXECUTE ON FUNCTION probe.f_leak(text) TO app_user`);
    const leaked: string[] = [];
    const onNotice = (n: NoticeMessage) => leaked.push(n.message ?? '');
    app.on('notice', onNotice);
    try {
      for (const t of tables) {
        leaked.length = 0;
        // The row as the app role may read it: tenancy.audit_log withholds transaction_id.
        const readable = (
          await owner.query<{ col: string }>(
            `SELECT quote_ident(attname) AS col FROM pg_attribute
              WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped
                AND has_column_privilege('app_user', attrelid, attnum, 'SELECT')
              ORDER BY attnum`,
            [t.name],
          )
        ).rows.map((r) => `x.${r.col}`);
        expect(readable).toContain('x.tenant_id');
        const row = `ROW(${readable.join(', ')})::text`;
        const rows = await inTenant(
          app,
          ACME,
          async () =>
            (await app.query(`SELECT ${row} AS row FROM ${t.name} x WHERE probe.f_leak(${row})`))
              .rows,
          asAdmin,
        );
        expect({ table: t.name, notices: leaked.length }).toEqual({
          table: t.name,
          notices: rows.length,
        });
        expect(leaked.filter((m) => m.includes(GLOBEX))).toEqual([]);
        expect(leaked.filter((m) => !m.includes(ACME) && !t.shared)).toEqual([]);
      }
    } finally {
      app.off('notice', onNotice);
      await owner.query(`DROP SCHEMA probe CASCADE`);
    }
  });

  it('has only security_invoker views in the app schemas', async () => {
    const views = await owner.query(
      `SELECT format('%s.%s', n.nspname, c.relname) AS view, coalesce(c.reloptions, '{}') AS options
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'v' AND n.nspname = ANY($1)`,
      [SCHEMAS],
    );
    expect(
      views.rows.filter(
        (v) =>
          !v.options.includes('security_invoker=true') &&
          !v.options.includes('security_invoker=on'),
      ),
    ).toEqual([]);
  });
});
