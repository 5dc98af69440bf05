import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { DEMO_TENANTS } from '@app/demo-kit';
import { TenantLifecycle } from '@app/tenancy';
import { seedSales } from '../../apps/sales-api/src/seed';
import { seedSupport } from '../../apps/support-api/src/seed';
import { connect, inTenant, suffix } from '../support/db';
import { TEST_ENV, testUrl } from '../support/test-env';
import { get, notesSetup, notesTenant } from '../tenancy/fixtures/notes.harness';

const ADMIN = { userId: '00000000-0000-4000-8000-0000000000ad', role: 'admin' };

/** Platform operations on tenants: create, suspend/activate, export and delete, catalog-driven. */
describe('TenantLifecycle and npm run tenants', () => {
  let owner: Client;
  let lifecycle: TenantLifecycle;
  let tables: string[];
  const logged: string[] = [];

  const countsOf = async (tenantId: string) => {
    const out: Record<string, number> = {};
    for (const t of tables) {
      out[t] = await inTenant(
        owner,
        tenantId,
        async () =>
          (
            await owner.query(`SELECT count(*)::int AS n FROM ${t} WHERE tenant_id = $1`, [
              tenantId,
            ])
          ).rows[0].n,
        ADMIN,
      );
    }
    return out;
  };

  /** Copies every row of `from` into `to`, table by table (parents first), keeping the ids. */
  const cloneTenant = async (from: string, to: string) => {
    for (const t of tables.filter((x) => x !== 'tenancy.audit_log')) {
      const rows = await inTenant(
        owner,
        from,
        async () =>
          (
            await owner.query(
              `SELECT coalesce(jsonb_agg(to_jsonb(x) || jsonb_build_object('tenant_id', $2::uuid)), '[]') AS rows FROM ${t} x WHERE tenant_id = $1`,
              [from, to],
            )
          ).rows[0].rows,
        ADMIN,
      );
      const cols = (
        await owner.query(
          `SELECT string_agg(format('%I', attname), ', ' ORDER BY attnum) AS cols FROM pg_attribute
            WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '' AND attidentity <> 'a'`,
          [t],
        )
      ).rows[0].cols;
      await inTenant(
        owner,
        to,
        () =>
          owner.query(
            `INSERT INTO ${t} (${cols}) SELECT ${cols} FROM jsonb_populate_recordset(NULL::${t}, $1) ON CONFLICT DO NOTHING`,
            [JSON.stringify(rows)],
          ),
        ADMIN,
      );
    }
  };

  beforeAll(async () => {
    owner = await connect('owner');
    for (const t of Object.values(DEMO_TENANTS)) {
      await owner.query(
        `INSERT INTO tenancy.tenants (id, slug, name, status) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`,
        [t.id, t.slug, t.name, t.status],
      );
    }
    await seedSupport(owner);
    await seedSales(owner);
    lifecycle = new TenantLifecycle(owner, { log: (m) => logged.push(m) });
    tables = (await lifecycle.tenantTables()).filter((t) => /^(tenancy|support|sales)\./.test(t));
  });

  afterAll(async () => {
    await owner.end();
  });

  it('finds the tenant tables in the catalog, parents before children', () => {
    expect(tables).toEqual(
      expect.arrayContaining([
        'support.tickets',
        'support.ticket_comments',
        'sales.deals',
        'tenancy.audit_log',
      ]),
    );
    expect(tables.indexOf('support.tickets')).toBeLessThan(
      tables.indexOf('support.ticket_comments'),
    );
    expect(tables.indexOf('sales.accounts')).toBeLessThan(tables.indexOf('sales.deals'));
  });

  it('refuses a tenant column that is not a plain identifier and a batch size that could not fetch, when built', () => {
    expect(
      () => new TenantLifecycle(owner, { tenantColumn: 'tenant_id IS NOT NULL OR tenant_id' }),
    ).toThrow(
      '"tenant_id IS NOT NULL OR tenant_id" is not a safe SQL identifier: use lower-case letters, digits and underscores',
    );
    for (const batchSize of [0, -1, 1.5, Number.NaN]) {
      expect(() => new TenantLifecycle(owner, { batchSize })).toThrow(
        'batchSize must be a whole number from 1 to 1,000,000',
      );
    }
  });

  it('creates a tenant, refuses a duplicate slug and a bad slug, and logs the operation', async () => {
    const slug = `life-${suffix()}`;
    const id = await lifecycle.create(slug, 'Life Inc');
    expect(await lifecycle.find(slug)).toEqual({ id, slug, name: 'Life Inc', status: 'active' });
    await expect(lifecycle.create(slug, 'Again')).rejects.toMatchObject({ code: '23505' });
    await expect(lifecycle.create('Bad Slug!', 'x')).rejects.toThrow(/slug/);
    expect(logged).toContain(`[tenancy platform] created tenant ${slug} (${id})`);
  });

  it("exports exactly the tenant's rows from every tenant table as JSON Lines", async () => {
    const lines: string[] = [];
    const counts = await lifecycle.export('acme', (l) => lines.push(l));
    const expected = await countsOf(DEMO_TENANTS.acme.id);
    const others = Object.entries(counts).filter(([t]) => !tables.includes(t));
    expect(Object.fromEntries(Object.entries(counts).filter(([t]) => tables.includes(t)))).toEqual(
      expected,
    );
    expect(others.filter(([, n]) => n !== 0)).toEqual([]);
    expect(lines).toHaveLength(Object.values(expected).reduce((a, b) => a + b, 0));
    const parsed = lines.map((l) => JSON.parse(l) as { table: string; row: { tenant_id: string } });
    expect(parsed.filter((p) => p.row.tenant_id !== DEMO_TENANTS.acme.id)).toEqual([]);
    expect(lines.join('\n')).not.toContain(DEMO_TENANTS.globex.id);
  });

  it('deletes every row of one tenant in one transaction and leaves every other tenant unchanged', async () => {
    const slug = `doomed-${suffix()}`;
    const id = await lifecycle.create(slug, 'Doomed');
    await cloneTenant(DEMO_TENANTS.acme.id, id);
    const others = [DEMO_TENANTS.acme.id, DEMO_TENANTS.globex.id];
    const before = await Promise.all(others.map(countsOf));
    const doomedBefore = await countsOf(id);
    expect(doomedBefore['support.tickets']).toBeGreaterThan(0);
    expect(doomedBefore['sales.deals']).toBeGreaterThan(0);

    const deleted = await lifecycle.delete(slug);

    for (const t of tables.filter((x) => x !== 'tenancy.audit_log'))
      expect(deleted[t]).toBe(doomedBefore[t]);
    expect(Object.values(await countsOf(id)).every((n) => n === 0)).toBe(true);
    await expect(lifecycle.find(slug)).rejects.toThrow(`no tenant with slug "${slug}"`);
    expect(await Promise.all(others.map(countsOf))).toEqual(before);
  });

  describe('suspension', () => {
    let app: INestApplication;
    afterAll(async () => {
      await app.close();
    });

    it("turns the tenant's tokens away with 403 within the status cache's staleness, and back", async () => {
      const setup = await notesSetup({ tenancy: { tenantStatus: { cacheTtlMs: 200 } } });
      app = setup.app;
      await setup.owner.end();
      const t = await notesTenant(owner, `susp-${suffix()}`, ['n']);
      const slug = (await owner.query('SELECT slug FROM tenancy.tenants WHERE id = $1', [t.id]))
        .rows[0].slug as string;
      await get(app, '/notes/raw', t.token).expect(200);
      await lifecycle.setStatus(slug, 'suspended');
      await new Promise((r) => setTimeout(r, 300));
      expect((await get(app, '/notes/raw', t.token).expect(403)).body.message).toBe(
        'tenant is suspended',
      );
      await lifecycle.setStatus(slug, 'active');
      await new Promise((r) => setTimeout(r, 300));
      await get(app, '/notes/raw', t.token).expect(200);
    });
  });

  it('exports through the command line with a row count per table', async () => {
    const out = join(tmpdir(), `acme-${suffix()}.jsonl`);
    try {
      const { stderr } = await promisify(execFile)(
        'node',
        [
          '-r',
          'ts-node/register/transpile-only',
          '-r',
          'tsconfig-paths/register',
          'scripts/tenants.ts',
          'export',
          'acme',
          '--out',
          out,
        ],
        {
          env: {
            ...process.env,
            DATABASE_URL: testUrl('serverAdminUrl'),
            DEMO_DATABASE: process.env[TEST_ENV.database],
          },
          timeout: 120_000,
        },
      );
      const lines = readFileSync(out, 'utf8').trim().split('\n');
      const expected = await countsOf(DEMO_TENANTS.acme.id);
      expect(lines).toHaveLength(Object.values(expected).reduce((a, b) => a + b, 0));
      expect(stderr).toContain(`support.tickets\t${expected['support.tickets']}`);
      expect(stderr).toContain('[tenancy platform] exported tenant acme');
    } finally {
      rmSync(out, { force: true });
    }
  });
});
