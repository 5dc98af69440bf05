import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { enableSharedRls, enableTenantRls, TenantContext } from '@app/tenancy';
import {
  checkTenantIsolation,
  expectTenantIsolation,
  IsolationFinding,
  TenantIsolationError,
} from '@app/tenancy/testing';
import { createSalesApp } from '../../apps/sales-api/src/sales-app';
import { managerRole } from '../../migrations/1764000013500-ReportingChains';
import { startSupportApi } from '../support-api/support-api.fixture';
import { connect, createTenant, inTenant, suffix } from '../support/db';
import { testUrl } from '../support/test-env';

const REAL_SCHEMAS = ['tenancy', 'support', 'sales'];

/** A DataSource of the test database as one of its roles. */
async function dataSourceAs(who: 'appUrl' | 'adminUrl'): Promise<DataSource> {
  return new DataSource({ type: 'postgres', url: testUrl(who) }).initialize();
}

/** An admin context of a fresh tenant. */
async function adminOf(owner: Client, slug: string): Promise<TenantContext> {
  return { tenantId: await createTenant(owner, slug), userId: randomUUID(), role: 'admin' };
}

/** Gives a tenant a row in every tenant table of support and sales, as the owner in its context. */
async function giveRealRows(owner: Client, t: TenantContext, manager?: string): Promise<void> {
  await inTenant(
    owner,
    t.tenantId,
    async () => {
      await owner.query(`INSERT INTO support.agents (tenant_id, user_id) VALUES ($1, $2)`, [
        t.tenantId,
        t.userId,
      ]);
      const ticket = await owner.query(
        `INSERT INTO support.tickets (tenant_id, subject, requester_id, assignee_id)
         VALUES ($1, 'printer on fire', $2, $2) RETURNING id`,
        [t.tenantId, t.userId],
      );
      await owner.query(
        `INSERT INTO support.ticket_comments (tenant_id, ticket_id, author_id, body)
         VALUES ($1, $2, $3, 'on it')`,
        [t.tenantId, ticket.rows[0].id, t.userId],
      );
      await owner.query(
        `INSERT INTO support.kb_articles (tenant_id, title, body) VALUES ($1, 'own', 'article')`,
        [t.tenantId],
      );
      await owner.query(
        `INSERT INTO sales.team_members (tenant_id, user_id, name) VALUES ($1, $2, 'Admin')`,
        [t.tenantId, t.userId],
      );
      if (manager) {
        await owner.query(
          `INSERT INTO sales.team_members (tenant_id, user_id, name, manager_id, manager_chain)
           VALUES ($1, $2, 'Manager', $3, ARRAY[$3::uuid])`,
          [t.tenantId, manager, t.userId],
        );
      }
      const account = await owner.query(
        `INSERT INTO sales.accounts (tenant_id, name) VALUES ($1, 'Initech') RETURNING id`,
        [t.tenantId],
      );
      await owner.query(
        `INSERT INTO sales.deals (tenant_id, account_id, title, amount, owner_id, owner_chain)
         SELECT $1, $2, 'staplers', 1234567890.12, m.user_id, m.chain
           FROM sales.team_members m WHERE m.user_id = $3`,
        [t.tenantId, account.rows[0].id, manager ?? t.userId],
      );
    },
    { userId: t.userId, role: 'admin' },
  );
}

/** Every row of the given schemas' tables, as the superuser sees them, for before/after equality. */
async function snapshot(admin: Client, schemas: string[]): Promise<Record<string, string>> {
  const tables = await admin.query(
    `SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables
      WHERE schemaname = ANY ($1) ORDER BY 1`,
    [schemas],
  );
  const rows: Record<string, string> = {};
  for (const { name } of tables.rows as { name: string }[]) {
    const r = await admin.query(
      `SELECT count(*)::int AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS sum
         FROM ${name} t`,
    );
    rows[name] = `${r.rows[0].n}:${r.rows[0].sum}`;
  }
  return rows;
}

const leaks = (findings: IsolationFinding[]) => findings.filter((f) => f.severity !== 'info');

const codesOf = (findings: IsolationFinding[], table: string) =>
  findings
    .filter((f) => f.table === table)
    .map((f) => f.code)
    .sort();

describe('leak-test kit (nestjs-rls-tenancy/testing)', () => {
  let owner: Client;
  let admin: Client;
  let app: DataSource;
  let a: TenantContext;
  let b: TenantContext;

  beforeAll(async () => {
    owner = await connect('owner');
    admin = await connect('admin');
    app = await dataSourceAs('appUrl');
    a = await adminOf(owner, 'kit-a');
    b = await adminOf(owner, 'kit-b');
    await giveRealRows(owner, a);
    await giveRealRows(owner, b);
    await inTenant(owner, null, () =>
      owner.query(`INSERT INTO support.kb_articles (title, body) VALUES ('global', 'article')`),
    );
  });

  afterAll(async () => {
    await app.destroy();
    await owner.end();
    await admin.end();
  });

  describe("on this repository's schema", () => {
    it('finds no leak in the tenancy, support and sales schemas', async () => {
      const findings = await checkTenantIsolation(app, { a, b, schemas: REAL_SCHEMAS });
      expect(leaks(findings)).toEqual([]);
      const probed = [
        'sales.accounts',
        'sales.deals',
        'sales.team_members',
        'support.agents',
        'support.kb_articles',
        'support.ticket_comments',
        'support.tickets',
      ];
      for (const table of probed) expect(codesOf(findings, table)).toEqual([]);
    });

    it('passes expectTenantIsolation on support-api, following its TenancyModule options', async () => {
      const support: INestApplication = await startSupportApi();
      try {
        await expect(
          expectTenantIsolation(support, { a, b, schemas: ['support'] }),
        ).resolves.toEqual([]);
      } finally {
        await support.close();
      }
    });

    it("follows sales-api's request roles: managers' contexts run as the role it names", async () => {
      const managers = [randomUUID(), randomUUID()];
      const [ma, mb] = [await adminOf(owner, 'kit-ma'), await adminOf(owner, 'kit-mb')];
      await giveRealRows(owner, ma, managers[0]);
      await giveRealRows(owner, mb, managers[1]);
      const contexts = {
        a: { ...ma, userId: managers[0], role: 'manager' },
        b: { ...mb, userId: managers[1], role: 'manager' },
      };
      const roles = `kit_roles_${suffix()}`;
      const notes = `${roles}.manager_notes`;
      const manager = managerRole('app_user');
      await owner.query(`CREATE SCHEMA ${roles}`);
      await owner.query(`GRANT USAGE ON SCHEMA ${roles} TO app_user, ${manager}`);
      await owner.query(
        `CREATE TABLE ${notes} (tenant_id uuid NOT NULL, id uuid NOT NULL DEFAULT gen_random_uuid(),
                                PRIMARY KEY (tenant_id, id))`,
      );
      await enableTenantRls(owner, notes, { allowAllWithinTenant: false });
      await owner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${notes} TO ${manager}`);
      await owner.query(
        `CREATE POLICY manager_notes ON ${notes} TO ${manager} USING (true) WITH CHECK (true)`,
      );
      await owner.query(
        `CREATE POLICY owner_writes ON ${notes} TO CURRENT_USER USING (true) WITH CHECK (true)`,
      );
      for (const t of [ma, mb]) {
        await inTenant(owner, t.tenantId, () =>
          owner.query(`INSERT INTO ${notes} (tenant_id) VALUES ($1)`, [t.tenantId]),
        );
      }
      const sales = await createSalesApp({
        databaseUrl: testUrl('appUrl'),
        jwtSecret: 'sales-api-kit-test-secret-0123456789-abcdefg',
        logger: false,
      });
      try {
        const sold = await expectTenantIsolation(sales, { ...contexts, schemas: ['sales'] });
        expect(sold.filter((f) => f.table === 'sales.deals')).toEqual([]);
        for (const f of sold) {
          expect(f).toMatchObject({ code: 'PROBE_SKIPPED', message: /may not update its own row/ });
        }
        expect(await checkTenantIsolation(sales, { ...contexts, schemas: [roles] })).toEqual([]);
        const withoutRoles = await checkTenantIsolation(app, { ...contexts, schemas: [roles] });
        expect(withoutRoles.map((f) => f.code)).toEqual(['NO_TENANT_DATA', 'NO_TENANT_DATA']);
      } finally {
        await sales.close();
        await owner.query(`DROP SCHEMA ${roles} CASCADE`);
      }
    });

    it('leaves no row, change or setting behind', async () => {
      const one = await new DataSource({
        type: 'postgres',
        url: testUrl('appUrl'),
        extra: { max: 1 },
      }).initialize();
      try {
        const before = await snapshot(admin, REAL_SCHEMAS);
        await checkTenantIsolation(one, { a, b, schemas: REAL_SCHEMAS });
        expect(await snapshot(admin, REAL_SCHEMAS)).toEqual(before);
        const settings = await one.query(
          `SELECT current_setting('app.tenant_id', true) AS tenant, current_user AS role,
                  now() = statement_timestamp() AS idle`,
        );
        expect(settings).toEqual([{ tenant: '', role: 'app_user', idle: true }]);
      } finally {
        await one.destroy();
      }
    });
  });

  describe('on deliberately broken tables', () => {
    const schema = `kit_${suffix()}`;
    let findings: IsolationFinding[];
    const broken = ['unforced', 'permissive', 'disabled', 'deletable', 'members', 'open_articles'];
    const CURRENT = `NULLIF(current_setting('app.tenant_id', true), '')::uuid`;

    /** Creates `schema.name` (tenant_id, id, label), gives both tenants two rows as the owner. */
    const table = async (name: string, secure: (t: string) => Promise<unknown>) => {
      const t = `${schema}.${name}`;
      await owner.query(`
        CREATE TABLE ${t} (
          tenant_id uuid NOT NULL REFERENCES tenancy.tenants (id),
          id uuid NOT NULL DEFAULT gen_random_uuid(),
          label text NOT NULL,
          PRIMARY KEY (tenant_id, id))`);
      await secure(t);
      for (const tenant of [a, b]) {
        await inTenant(owner, tenant.tenantId, () =>
          owner.query(`INSERT INTO ${t} (tenant_id, label) VALUES ($1, 'one'), ($1, 'two')`, [
            tenant.tenantId,
          ]),
        );
      }
    };

    beforeAll(async () => {
      await owner.query(`CREATE SCHEMA ${schema}`);
      await owner.query(`GRANT USAGE ON SCHEMA ${schema} TO app_user`);
      await table('guarded', (t) => enableTenantRls(owner, t));
      await table('unforced', async (t) => {
        await enableTenantRls(owner, t);
        await owner.query(`ALTER TABLE ${t} NO FORCE ROW LEVEL SECURITY`);
      });
      await table('permissive', async (t) => {
        await owner.query(`ALTER TABLE ${t} ENABLE ROW LEVEL SECURITY`);
        await owner.query(`ALTER TABLE ${t} FORCE ROW LEVEL SECURITY`);
        await owner.query(
          `CREATE POLICY own_tenant ON ${t} USING (tenant_id = ${CURRENT}) WITH CHECK (tenant_id = ${CURRENT})`,
        );
        await owner.query(`CREATE POLICY everyone ON ${t} USING (true) WITH CHECK (true)`);
        await owner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${t} TO app_user`);
      });
      await table('disabled', (t) =>
        owner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${t} TO app_user`),
      );
      await table('deletable', async (t) => {
        await enableTenantRls(owner, t, { allowAllWithinTenant: false });
        await owner.query(`DROP POLICY tenant_guard ON ${t}`);
        await owner.query(
          `CREATE POLICY own_tenant ON ${t} USING (tenant_id = ${CURRENT}) WITH CHECK (tenant_id = ${CURRENT})`,
        );
        await owner.query(`CREATE POLICY anyone_deletes ON ${t} FOR DELETE USING (true)`);
      });
      await owner.query(`
        CREATE TABLE ${schema}.members (
          tenant_id uuid NOT NULL REFERENCES tenancy.tenants (id),
          user_id uuid NOT NULL,
          name text NOT NULL,
          PRIMARY KEY (tenant_id, user_id))`);
      await owner.query(`ALTER TABLE ${schema}.members ENABLE ROW LEVEL SECURITY`);
      await owner.query(`ALTER TABLE ${schema}.members FORCE ROW LEVEL SECURITY`);
      await owner.query(
        `CREATE POLICY own_tenant ON ${schema}.members USING (tenant_id = ${CURRENT}) WITH CHECK (tenant_id = ${CURRENT})`,
      );
      await owner.query(
        `CREATE POLICY everyone ON ${schema}.members USING (true) WITH CHECK (true)`,
      );
      await owner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${schema}.members TO app_user`);
      await owner.query(`
        CREATE TABLE ${schema}.notes (
          tenant_id uuid NOT NULL,
          id uuid NOT NULL DEFAULT gen_random_uuid(),
          member_id uuid NOT NULL,
          PRIMARY KEY (tenant_id, id),
          FOREIGN KEY (tenant_id, member_id) REFERENCES ${schema}.members (tenant_id, user_id))`);
      await enableTenantRls(owner, `${schema}.notes`);
      for (const tenant of [a, b]) {
        await inTenant(owner, tenant.tenantId, async () => {
          await owner.query(
            `INSERT INTO ${schema}.members (tenant_id, user_id, name) VALUES ($1, $2, 'member')`,
            [tenant.tenantId, tenant.userId],
          );
          await owner.query(`INSERT INTO ${schema}.notes (tenant_id, member_id) VALUES ($1, $2)`, [
            tenant.tenantId,
            tenant.userId,
          ]);
        });
      }
      await owner.query(
        `CREATE TABLE ${schema}.empty (tenant_id uuid NOT NULL, id int, PRIMARY KEY (tenant_id, id))`,
      );
      await enableTenantRls(owner, `${schema}.empty`);
      for (const name of ['articles', 'open_articles']) {
        await owner.query(`
          CREATE TABLE ${schema}.${name} (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            tenant_id uuid REFERENCES tenancy.tenants (id),
            title text NOT NULL)`);
      }
      await enableSharedRls(owner, `${schema}.articles`);
      const shared = `tenant_id IS NULL OR tenant_id = ${CURRENT}`;
      await owner.query(`ALTER TABLE ${schema}.open_articles ENABLE ROW LEVEL SECURITY`);
      await owner.query(
        `CREATE POLICY shared_or_own ON ${schema}.open_articles USING (${shared}) WITH CHECK (${shared})`,
      );
      await owner.query(
        `GRANT SELECT, INSERT (tenant_id, title), UPDATE (tenant_id, title), DELETE ON ${schema}.open_articles TO app_user`,
      );
      for (const name of ['articles', 'open_articles']) {
        await inTenant(owner, null, () =>
          owner.query(`INSERT INTO ${schema}.${name} (title) VALUES ('global')`),
        );
        for (const tenant of [a, b]) {
          await inTenant(owner, tenant.tenantId, () =>
            owner.query(`INSERT INTO ${schema}.${name} (tenant_id, title) VALUES ($1, 'own')`, [
              tenant.tenantId,
            ]),
          );
        }
      }
      findings = await checkTenantIsolation(app, { a, b, schemas: [schema] });
    });

    afterAll(async () => {
      await owner.query(`DROP SCHEMA ${schema} CASCADE`);
    });

    it('reports nothing for a table secured by enableTenantRls', () => {
      expect(codesOf(findings, `${schema}.guarded`)).toEqual([]);
    });

    it('reports a table without FORCE ROW LEVEL SECURITY from the catalog', () => {
      expect(findings.filter((f) => f.table === `${schema}.unforced`)).toEqual([
        {
          code: 'RLS_NOT_FORCED',
          severity: 'leak',
          table: `${schema}.unforced`,
          message: expect.stringContaining(
            `ALTER TABLE ${schema}.unforced FORCE ROW LEVEL SECURITY`,
          ),
        },
      ]);
    });

    it('catches a permissive USING (true) policy with every cross-tenant probe', () => {
      expect(codesOf(findings, `${schema}.permissive`)).toEqual([
        'CONTEXTLESS_READ',
        ...Array(8).fill('CONTEXTLESS_WRITE'),
        ...Array(2).fill('CROSS_TENANT_DELETE'),
        ...Array(2).fill('CROSS_TENANT_DELETE'),
        ...Array(2).fill('CROSS_TENANT_INSERT'),
        ...Array(2).fill('CROSS_TENANT_MOVE'),
        ...Array(2).fill('CROSS_TENANT_READ'),
        ...Array(4).fill('CROSS_TENANT_UPDATE'),
        ...Array(2).fill('CROSS_TENANT_UPSERT'),
      ]);
      const read = findings.find(
        (f) => f.table === `${schema}.permissive` && f.code === 'CROSS_TENANT_READ',
      );
      expect(read).toEqual({
        code: 'CROSS_TENANT_READ',
        severity: 'leak',
        table: `${schema}.permissive`,
        message: expect.stringMatching(
          new RegExp(
            `^${schema}\\.permissive: tenant b \\(${b.tenantId}\\) reads 2 row\\(s\\) of other tenants \\(2 of tenant a \\(${a.tenantId}\\)\\); .*RESTRICTIVE tenant guard`,
          ),
        ),
      });
    });

    it('catches a natural uuid key, and moves a foreign key alone stopped', () => {
      expect(codesOf(findings, `${schema}.members`)).toEqual([
        'CONTEXTLESS_READ',
        ...Array(7).fill('CONTEXTLESS_WRITE'),
        ...Array(4).fill('CROSS_TENANT_DELETE'),
        ...Array(2).fill('CROSS_TENANT_INSERT'),
        ...Array(2).fill('CROSS_TENANT_MOVE'),
        ...Array(2).fill('CROSS_TENANT_READ'),
        ...Array(4).fill('CROSS_TENANT_UPDATE'),
        ...Array(2).fill('CROSS_TENANT_UPSERT'),
      ]);
      const moves = findings.filter(
        (f) => f.table === `${schema}.members` && f.code === 'CROSS_TENANT_MOVE',
      );
      expect(moves.map((f) => f.message)).toEqual([
        expect.stringContaining(
          `tenant a (${a.tenantId})'s UPDATE of its own row to tenant_id = tenant b (${b.tenantId})'s id passed the policies and was stopped only by notes_tenant_id_member_id_fkey (23503)`,
        ),
        expect.stringContaining(
          `tenant b (${b.tenantId})'s UPDATE of its own row to tenant_id = tenant a (${a.tenantId})'s id passed the policies and was stopped only by notes_tenant_id_member_id_fkey (23503)`,
        ),
      ]);
      expect(codesOf(findings, `${schema}.notes`)).toEqual([]);
    });

    it('catches a table with row-level security disabled, from the catalog and the probes', () => {
      const codes = codesOf(findings, `${schema}.disabled`);
      expect(codes.filter((c) => !c.startsWith('CROSS_') && !c.startsWith('CONTEXTLESS_'))).toEqual(
        ['NO_POLICY', 'RLS_NOT_ENABLED', 'RLS_NOT_FORCED'],
      );
      expect(codes).toEqual(expect.arrayContaining(['CROSS_TENANT_READ', 'CROSS_TENANT_INSERT']));
    });

    it('catches a FOR DELETE policy that does not test the tenant, with a DELETE without WHERE', () => {
      expect(codesOf(findings, `${schema}.deletable`)).toEqual([
        'CONTEXTLESS_WRITE',
        'CONTEXTLESS_WRITE',
        'CROSS_TENANT_DELETE',
        'CROSS_TENANT_DELETE',
      ]);
    });

    it('says which probes a table without rows skipped, as incomplete, not a leak', () => {
      expect(findings.filter((f) => f.table === `${schema}.empty`)).toEqual([
        {
          code: 'NO_TENANT_DATA',
          severity: 'incomplete',
          table: `${schema}.empty`,
          message: expect.stringContaining(`tenant a (${a.tenantId}) has no rows here`),
        },
        {
          code: 'NO_TENANT_DATA',
          severity: 'incomplete',
          table: `${schema}.empty`,
          message: expect.stringContaining(`tenant b (${b.tenantId}) has no rows here`),
        },
      ]);
    });

    it('takes shared rows every tenant reads for no leak, and catches tenants writing them', () => {
      expect(codesOf(findings, `${schema}.articles`)).toEqual([]);
      const open = codesOf(findings, `${schema}.open_articles`);
      expect(open.filter((c) => c !== 'SHARED_ROW_WRITE')).toEqual(['RLS_NOT_FORCED']);
      expect(open.length).toBeGreaterThan(1);
    });

    it('makes expectTenantIsolation throw with the leaks listed', async () => {
      const failure = expectTenantIsolation(app, {
        a,
        b,
        schemas: [schema],
        ignore: broken.filter((t) => t !== 'permissive').map((t) => `${schema}.${t}`),
      });
      await expect(failure).rejects.toBeInstanceOf(TenantIsolationError);
      await expect(failure).rejects.toThrow(
        new RegExp(`\\[leak\\] \\[CROSS_TENANT_READ\\] ${schema}\\.permissive: tenant b`),
      );
      const clean = { a, b, schemas: [schema], ignore: broken.map((t) => `${schema}.${t}`) };
      await expect(expectTenantIsolation(app, clean)).rejects.toThrow(
        new RegExp(`\\[incomplete\\] \\[NO_TENANT_DATA\\] ${schema}\\.empty: tenant a`),
      );
      await expect(
        expectTenantIsolation(app, { ...clean, allowIncomplete: true }),
      ).resolves.toEqual(
        findings.filter((f) => f.severity === 'info' || f.severity === 'incomplete'),
      );
    });

    it('leaves the broken tables exactly as they were', async () => {
      const before = await snapshot(admin, [schema]);
      await checkTenantIsolation(app, { a, b, schemas: [schema] });
      expect(await snapshot(admin, [schema])).toEqual(before);
    });
  });

  describe('refusals', () => {
    it('reports a connection that bypasses row-level security instead of probing', async () => {
      const superuser = await dataSourceAs('adminUrl');
      try {
        const findings = await checkTenantIsolation(superuser, {
          a,
          b,
          schemas: ['support'],
          catalogCheck: false,
        });
        expect(findings).toEqual([
          {
            code: 'KIT_ROLE_BYPASSES_RLS',
            severity: 'error',
            message: expect.stringMatching(/^the kit connected as ".+", which is a superuser/),
          },
        ]);
      } finally {
        await superuser.destroy();
      }
    });

    it('reports schemas without tenant tables as an error', async () => {
      expect(await checkTenantIsolation(app, { a, b, schemas: ['public'] })).toEqual([
        {
          code: 'NO_TENANT_TABLES',
          severity: 'error',
          message: expect.stringContaining('no table with a tenant_id column in schemas public'),
        },
      ]);
    });

    it('refuses two contexts of the same tenant', async () => {
      await expect(
        checkTenantIsolation(app, { a, b: { ...b, tenantId: a.tenantId } }),
      ).rejects.toThrow('options a and b name the same tenant');
    });
  });
});
