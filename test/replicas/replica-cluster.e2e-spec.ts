import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { createTenant, inTenant } from '../support/db';
import {
  ReplicaCluster,
  describeWithReplica,
  startReplicaCluster,
} from '../support/replica-cluster';

const asAdmin = { userId: '00000000-0000-4000-8000-0000000000ad', role: 'admin' };

async function open(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

/** Runs `fn` with a fresh client on `url`, and closes it afterwards. */
async function using<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = await open(url);
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const inRecovery = (url: string) =>
  using(url, async (c) => (await c.query('SELECT pg_is_in_recovery() AS r')).rows[0].r as boolean);

const tenantSlugs = (url: string, ids: string[]) =>
  using(url, async (c) =>
    (
      await c.query<{ slug: string }>(
        'SELECT slug FROM tenancy.tenants WHERE id = ANY($1) ORDER BY slug',
        [ids],
      )
    ).rows.map((r) => r.slug),
  );

async function insertTickets(owner: Client, tenantId: string, subjects: string[]) {
  await inTenant(
    owner,
    tenantId,
    async () => {
      for (const subject of subjects) {
        await owner.query(
          'INSERT INTO support.tickets (tenant_id, subject, requester_id) VALUES ($1, $2, $3)',
          [tenantId, subject, randomUUID()],
        );
      }
    },
    asAdmin,
  );
}

describeWithReplica('a primary with a streaming hot standby (test/support/replica-cluster)', () => {
  let cluster: ReplicaCluster;
  let owner: Client;

  beforeAll(async () => {
    const started = Date.now();
    cluster = await startReplicaCluster();
    console.log(`[replicas] ${cluster.description}, started in ${Date.now() - started} ms`);
    owner = await open(cluster.primary.ownerUrl);
  }, 120_000);

  afterAll(async () => {
    await owner?.end();
    await cluster?.stop();
  });

  it('has the standby in recovery and the primary not', async () => {
    expect({
      primary: await inRecovery(cluster.primary.adminUrl),
      replica: await inRecovery(cluster.replica.adminUrl),
    }).toEqual({ primary: false, replica: true });
  });

  it('has the migrated database and its roles on the standby', async () => {
    const who = await using(cluster.replica.appUrl, async (c) => {
      const { rows } = await c.query(
        `SELECT current_user AS "user", current_database() AS database,
                to_regclass('support.tickets') IS NOT NULL AS tickets`,
      );
      return rows[0];
    });
    expect(who).toEqual({
      user: new URL(cluster.primary.appUrl).username,
      database: cluster.database,
      tickets: true,
    });
  });

  it('shows a row the owner wrote on the primary on the standby after waitForReplay()', async () => {
    const id = await createTenant(owner, 'replicated');
    await cluster.waitForReplay();
    expect(await tenantSlugs(cluster.replica.ownerUrl, [id])).toEqual(
      await tenantSlugs(cluster.primary.ownerUrl, [id]),
    );
    expect(await tenantSlugs(cluster.replica.ownerUrl, [id])).toEqual([
      expect.stringMatching(/^replicated-/),
    ]);
  });

  it('holds back a row the standby received while replay is paused, and shows it after resumeReplay()', async () => {
    await cluster.pauseReplay();
    let id: string;
    try {
      id = await createTenant(owner, 'lagging');
      const written = (await owner.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn;
      await using(cluster.replica.adminUrl, async (c) => {
        for (let i = 0; i < 500; i++) {
          const { rows } = await c.query(
            'SELECT pg_last_wal_receive_lsn() >= $1::pg_lsn AS received',
            [written],
          );
          if (rows[0].received) return;
          await new Promise((r) => setTimeout(r, 10));
        }
        throw new Error(`the standby did not receive the WAL up to ${written}`);
      });
      expect(await tenantSlugs(cluster.replica.ownerUrl, [id])).toEqual([]);
    } finally {
      await cluster.resumeReplay();
    }
    await cluster.waitForReplay();
    expect(await tenantSlugs(cluster.replica.ownerUrl, [id])).toEqual([
      expect.stringMatching(/^lagging-/),
    ]);
  });

  describe('row-level security on the standby, as the app role', () => {
    let a: string;
    let b: string;
    let app: Client;

    beforeAll(async () => {
      a = await createTenant(owner, 'replica-a');
      b = await createTenant(owner, 'replica-b');
      await insertTickets(owner, a, ['a: printer jam', 'a: vpn down']);
      await insertTickets(owner, b, ['b: invoice missing']);
      await cluster.waitForReplay();
      app = await open(cluster.replica.appUrl);
    });

    afterAll(async () => {
      await app?.end();
    });

    const subjects = (tenantId: string | null, where = 'true', params: unknown[] = []) =>
      inTenant(
        app,
        tenantId,
        async () =>
          (
            await app.query<{ tenant_id: string; subject: string }>(
              `SELECT tenant_id, subject FROM support.tickets WHERE ${where} ORDER BY subject`,
              params,
            )
          ).rows,
        asAdmin,
      );

    it("returns exactly the caller tenant's tickets", async () => {
      expect(await subjects(a)).toEqual([
        { tenant_id: a, subject: 'a: printer jam' },
        { tenant_id: a, subject: 'a: vpn down' },
      ]);
      expect(await subjects(b)).toEqual([{ tenant_id: b, subject: 'b: invoice missing' }]);
    });

    it("returns none of another tenant's tickets when asked for them by id", async () => {
      expect(await subjects(a, 'tenant_id = $1', [b])).toEqual([]);
    });

    it('returns zero rows with no settings', async () => {
      expect((await app.query('SELECT count(*)::int AS n FROM support.tickets')).rows).toEqual([
        { n: 0 },
      ]);
    });

    it('refuses a write with SQLSTATE 25006 (read-only transaction), as the app role and as the owner', async () => {
      await expect(
        inTenant(app, a, () =>
          app.query(
            'INSERT INTO support.tickets (tenant_id, subject, requester_id) VALUES ($1, $2, $3)',
            [a, 'a: written on the standby', randomUUID()],
          ),
        ),
      ).rejects.toMatchObject({ code: '25006' });
      await expect(
        using(cluster.replica.ownerUrl, (c) => createTenant(c, 'on-standby')),
      ).rejects.toMatchObject({ code: '25006' });
    });
  });

  it('refuses connections while the standby is stopped, then catches up in recovery after startReplica()', async () => {
    await cluster.stopReplica();
    let id: string;
    try {
      await expect(open(cluster.replica.appUrl)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      id = await createTenant(owner, 'while-down');
    } finally {
      await cluster.startReplica();
    }
    expect(await inRecovery(cluster.replica.adminUrl)).toBe(true);
    await cluster.waitForReplay();
    expect(await tenantSlugs(cluster.replica.ownerUrl, [id])).toEqual([
      expect.stringMatching(/^while-down-/),
    ]);
  });
});
