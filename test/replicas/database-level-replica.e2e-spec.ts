import { Client } from 'pg';
import { DEMO_TENANTS } from '@app/demo-kit';
import { seedSupport } from '../../apps/support-api/src/seed';
import { seedSales } from '../../apps/sales-api/src/seed';
import { inTenant } from '../support/db';
import {
  ReplicaCluster,
  describeWithReplica,
  startReplicaCluster,
} from '../support/replica-cluster';

const ACME = DEMO_TENANTS.acme.id;
const GLOBEX = DEMO_TENANTS.globex.id;
const asAdmin = { userId: '00000000-0000-4000-8000-0000000000ad', role: 'admin' };

async function open(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

/** Every row of `table` a context sees, as JSON text sorted, read in a read-only transaction. */
async function visibleRows(c: Client, table: string, tenantId: string | null): Promise<string[]> {
  return inTenant(
    c,
    tenantId,
    async () => {
      await c.query('SET TRANSACTION READ ONLY');
      const { rows } = await c.query<{ row: string }>(
        `SELECT to_jsonb(t)::text AS row FROM ${table} t`,
      );
      return rows.map((r) => r.row).sort();
    },
    asAdmin,
  );
}

/**
 * The database-level checks on a hot standby, as the application role with no application code:
 * for every tenant table of both apps, the replica answers each context exactly as the primary
 * does, shows no row of another tenant, shows nothing without settings, and takes no write.
 */
describeWithReplica(
  'database level on a streaming replica: the app role cannot cross tenants',
  () => {
    let cluster: ReplicaCluster;
    let primary: Client;
    let replica: Client;
    let tables: string[];

    beforeAll(async () => {
      cluster = await startReplicaCluster();
      const owner = await open(cluster.primary.ownerUrl);
      try {
        for (const t of Object.values(DEMO_TENANTS)) {
          await owner.query(
            'INSERT INTO tenancy.tenants (id, slug, name, status) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING',
            [t.id, t.slug, t.name, t.status],
          );
        }
        await seedSupport(owner);
        await seedSales(owner);
        const { rows } = await owner.query<{ name: string }>(
          `SELECT format('%s.%s', n.nspname, c.relname) AS name
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
          WHERE c.relkind IN ('r', 'p') AND n.nspname IN ('support', 'sales') ORDER BY 1`,
        );
        tables = rows.map((r) => r.name);
      } finally {
        await owner.end();
      }
      await cluster.waitForReplay();
      primary = await open(cluster.primary.appUrl);
      replica = await open(cluster.replica.appUrl);
    }, 120_000);

    afterAll(async () => {
      await primary?.end();
      await replica?.end();
      await cluster?.stop();
    });

    it('reads from a server in recovery', async () => {
      const { rows } = await replica.query('SELECT pg_is_in_recovery() AS standby');
      expect(rows).toEqual([{ standby: true }]);
      expect(tables).toEqual(
        expect.arrayContaining(['support.tickets', 'support.kb_articles', 'sales.deals']),
      );
    });

    it("answers each tenant's context exactly as the primary does, with rows in every table", async () => {
      for (const table of tables) {
        for (const tenant of [ACME, GLOBEX]) {
          const onReplica = await visibleRows(replica, table, tenant);
          expect({ table, tenant, rows: onReplica }).toEqual({
            table,
            tenant,
            rows: await visibleRows(primary, table, tenant),
          });
          expect({ table, tenant, some: onReplica.length > 0 }).toEqual({
            table,
            tenant,
            some: true,
          });
        }
      }
    });

    it("shows A none of B's rows, whatever A asks for", async () => {
      for (const table of tables) {
        const rows = await visibleRows(replica, table, ACME);
        const foreign = rows.filter(
          (row) => (JSON.parse(row) as { tenant_id: string | null }).tenant_id === GLOBEX,
        );
        const asked = await inTenant(
          replica,
          ACME,
          async () =>
            (
              await replica.query(`SELECT count(*)::int AS n FROM ${table} WHERE tenant_id = $1`, [
                GLOBEX,
              ])
            ).rows[0].n as number,
          asAdmin,
        );
        expect({ table, foreign, asked }).toEqual({ table, foreign: [], asked: 0 });
      }
    });

    it('shows zero rows in every tenant table without settings', async () => {
      for (const table of tables) {
        const { n } = (await replica.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0];
        expect({ table, n }).toEqual({ table, n: 0 });
      }
    });

    it('takes no write in any tenant table, even in the right context (SQLSTATE 25006)', async () => {
      for (const table of tables) {
        const write = inTenant(
          replica,
          ACME,
          () => replica.query(`DELETE FROM ${table} WHERE tenant_id = $1`, [ACME]),
          asAdmin,
        );
        await expect(write).rejects.toMatchObject({ code: '25006' });
      }
    });
  },
);
