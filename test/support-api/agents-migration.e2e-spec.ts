import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { dropDatabase, PreparedDatabase, prepareDatabase } from '@app/dev-postgres';
import { MIGRATIONS } from '../../migrations';
import { SupportAgents1764000013000 } from '../../migrations/1764000013000-SupportAgents';
import { migrateDown, migrateUp } from '../../migrations/run-migrations';
import { createTenant, inTenant, suffix } from '../support/db';
import { testUrl } from '../support/test-env';

/**
 * Migration 1764000013000 on tickets that already have assignees: up makes each tenant's assignees
 * its agents (and nobody else's), down leaves the tickets as they were. A database of its own.
 */
describe('migration SupportAgents on existing tickets', () => {
  const database = `support_agents_${suffix()}`;
  const fromHere = MIGRATIONS.length - MIGRATIONS.indexOf(SupportAgents1764000013000);
  const user = { shared: randomUUID(), onlyA: randomUUID(), onlyB: randomUUID() };
  let db: PreparedDatabase;
  let owner: Client;
  let superuser: Client;
  let a: string;
  let b: string;

  const assign = (tenantId: string, assignees: (string | null)[]) =>
    inTenant(owner, tenantId, async () => {
      for (const assignee of assignees) {
        await owner.query(
          `INSERT INTO support.tickets (tenant_id, subject, requester_id, assignee_id)
           VALUES ($1, 'old', gen_random_uuid(), $2)`,
          [tenantId, assignee],
        );
      }
    });
  const rows = async (sql: string) => (await superuser.query(sql)).rows;
  const tickets = () =>
    rows(`SELECT tenant_id, id, assignee_id FROM support.tickets ORDER BY tenant_id, id`);

  beforeAll(async () => {
    db = await prepareDatabase(testUrl('serverAdminUrl'), database);
    await migrateUp(db.ownerUrl);
    expect(await migrateDown(db.ownerUrl, fromHere)).toBe(fromHere);
    owner = new Client({ connectionString: db.ownerUrl });
    await owner.connect();
    superuser = new Client({ connectionString: db.adminUrl });
    await superuser.connect();
    a = await createTenant(owner, 'agents-a');
    b = await createTenant(owner, 'agents-b');
    await assign(a, [user.shared, user.shared, user.onlyA, null]);
    await assign(b, [user.shared, user.onlyB]);
  });
  afterAll(async () => {
    await owner?.end();
    await superuser?.end();
    await dropDatabase(testUrl('serverAdminUrl'), database);
  });

  it("up: each tenant's assignees become its agents, and the foreign key holds", async () => {
    const before = await tickets();
    await migrateUp(db.ownerUrl);
    const agents = await rows(`SELECT tenant_id, user_id FROM support.agents`);
    expect(agents).toHaveLength(4);
    expect(agents).toEqual(
      expect.arrayContaining([
        { tenant_id: a, user_id: user.shared },
        { tenant_id: a, user_id: user.onlyA },
        { tenant_id: b, user_id: user.shared },
        { tenant_id: b, user_id: user.onlyB },
      ]),
    );
    expect(await tickets()).toEqual(before);
    await expect(assign(a, [user.onlyB])).rejects.toMatchObject({
      code: '23503',
      constraint: 'tickets_assignee_agent_fkey',
    });
    expect(
      await rows(`SELECT relforcerowsecurity AS forced FROM pg_class
                   WHERE oid IN ('support.tickets'::regclass, 'support.agents'::regclass)`),
    ).toEqual([{ forced: true }, { forced: true }]);
  });

  it('down: the agents and the foreign key go, the tickets keep their assignees', async () => {
    const before = await tickets();
    expect(await migrateDown(db.ownerUrl, fromHere)).toBe(fromHere);
    expect(await rows(`SELECT to_regclass('support.agents') AS agents`)).toEqual([
      { agents: null },
    ]);
    expect(await tickets()).toEqual(before);
    await assign(a, [user.onlyB]);
  });
});
