import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { connect, inTenant } from '../support/db';
import {
  as,
  dbRows,
  expectErrorShape,
  ISO_TIMESTAMP,
  startSupportApi,
  storedTickets,
  supportTenant,
  SupportTenant,
  UNKNOWN_ID,
} from './support-api.fixture';

const NOT_AN_AGENT =
  'assigneeId must be an agent of this tenant (an admin adds one with PUT /agents/:userId)';

/** A ticket's assignee is an agent of its own tenant, enforced by a foreign key; admins manage agents. */
describe('support-api agents and ticket assignees', () => {
  let app: INestApplication;
  let owner: Client;
  let admin: Client;
  let a: SupportTenant;
  let b: SupportTenant;

  /** Opens a ticket in tenant A as its agent and returns its id. */
  const openTicket = async (subject: string): Promise<string> =>
    (await as(app, a.agent).post('/tickets', { subject }).expect(201)).body.id;

  const agentsOf = (tenantId: string) =>
    dbRows<{ user_id: string }>(
      admin,
      `SELECT user_id FROM support.agents WHERE tenant_id = $1 ORDER BY user_id`,
      [tenantId],
    );

  /** Runs one statement as the app role in tenant A's admin context, on a connection of its own. */
  const asAppRoleInA = async (sql: string, params: unknown[]) => {
    const appClient = await connect('app');
    try {
      return await inTenant(appClient, a.id, () => appClient.query(sql, params), {
        userId: a.adminId,
        role: 'admin',
      });
    } finally {
      await appClient.end();
    }
  };

  beforeAll(async () => {
    owner = await connect('owner');
    admin = await connect('admin');
    app = await startSupportApi();
    a = await supportTenant(owner, 'agents-a');
    b = await supportTenant(owner, 'agents-b');
  });
  afterAll(async () => {
    await app.close();
    await owner.end();
    await admin.end();
  });

  describe('PATCH /tickets/:id assigneeId', () => {
    it("assigns a member of the caller's tenant: 200", async () => {
      const id = await openTicket('for a member');
      const res = await as(app, a.agent).patch(`/tickets/${id}`, { assigneeId: a.adminId });
      expect(res.status).toBe(200);
      expect(res.body.assigneeId).toBe(a.adminId);
    });

    it.each([
      ["another tenant's agent", () => b.agentId],
      ["another tenant's admin, in upper case", () => b.adminId.toUpperCase()],
      ['a uuid nobody uses', () => randomUUID()],
    ])('refuses %s with 400 and leaves the ticket unchanged', async (_, assignee) => {
      const id = await openTicket('not for strangers');
      await as(app, a.agent).patch(`/tickets/${id}`, { assigneeId: a.agentId }).expect(200);
      const before = await storedTickets(admin, a.id);
      const res = await as(app, a.admin).patch(`/tickets/${id}`, {
        assigneeId: assignee(),
        subject: 'changed too',
      });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ statusCode: 400, message: NOT_AN_AGENT, error: 'Bad Request' });
      expect(await storedTickets(admin, a.id)).toEqual(before);
    });

    it('is refused by the database itself: the app role cannot store another tenant user as assignee', async () => {
      const id = await openTicket('straight to SQL');
      await expect(
        asAppRoleInA(`UPDATE support.tickets SET assignee_id = $1 WHERE id = $2`, [b.agentId, id]),
      ).rejects.toMatchObject({ code: '23503', constraint: 'tickets_assignee_agent_fkey' });
      const [row] = await dbRows(admin, `SELECT assignee_id FROM support.tickets WHERE id = $1`, [
        id,
      ]);
      expect(row).toEqual({ assignee_id: null });
    });

    it('assigns a user once an admin made them an agent with PUT /agents/:userId', async () => {
      const newcomer = randomUUID();
      const id = await openTicket('for the newcomer');
      await as(app, a.agent).patch(`/tickets/${id}`, { assigneeId: newcomer }).expect(400);
      await as(app, a.admin).put(`/agents/${newcomer}`).expect(200);
      const res = await as(app, a.agent).patch(`/tickets/${id}`, { assigneeId: newcomer });
      expect(res.status).toBe(200);
      expect(res.body.assigneeId).toBe(newcomer);
    });
  });

  describe('/agents', () => {
    it("PUT makes a user an agent of the admin's tenant only, and again changes nothing", async () => {
      const userId = randomUUID();
      const first = await as(app, a.admin).put(`/agents/${userId.toUpperCase()}`);
      expect(first.status).toBe(200);
      expect(first.body).toEqual({ userId, createdAt: expect.stringMatching(ISO_TIMESTAMP) });
      const again = await as(app, a.admin).put(`/agents/${userId}`);
      expect(again.body).toEqual(first.body);
      expect((await agentsOf(a.id)).map((r) => r.user_id)).toContain(userId);
      expect((await agentsOf(b.id)).map((r) => r.user_id)).not.toContain(userId);
    });

    it("GET lists the caller's tenant's agents by user id, in pages, for agents too", async () => {
      const expected = (await agentsOf(a.id)).map((r) => r.user_id);
      const first = await as(app, a.agent).get('/agents?limit=2');
      expect(first.status).toBe(200);
      const seen = first.body.items.map((x: { userId: string }) => x.userId);
      let cursor = first.body.nextCursor as string | null;
      while (cursor) {
        const page = await as(app, a.agent).get(`/agents?limit=2&cursor=${cursor}`).expect(200);
        seen.push(...page.body.items.map((x: { userId: string }) => x.userId));
        cursor = page.body.nextCursor;
      }
      expect(seen).toEqual(expected);
      for (const other of [b.agentId, b.adminId]) expect(seen).not.toContain(other);
    });

    it('DELETE removes an agent and unassigns their tickets; a second DELETE is 404', async () => {
      const leaving = randomUUID();
      await as(app, a.admin).put(`/agents/${leaving}`).expect(200);
      const id = await openTicket('left behind');
      await as(app, a.agent).patch(`/tickets/${id}`, { assigneeId: leaving }).expect(200);
      await as(app, a.admin).delete(`/agents/${leaving}`).expect(204);
      expect((await as(app, a.agent).get(`/tickets/${id}`)).body.assigneeId).toBeNull();
      const again = await as(app, a.admin).delete(`/agents/${leaving}`);
      expect(again.status).toBe(404);
      expect(again.body.message).toBe('agent not found');
    });

    it("DELETE unassigns exactly that agent's tickets of the caller's tenant (updated_at kept), not the same user's tickets in another tenant", async () => {
      const leaving = randomUUID();
      for (const tenant of [a, b])
        await as(app, tenant.admin).put(`/agents/${leaving}`).expect(200);
      const theirs = [await openTicket('theirs, first'), await openTicket('theirs, second')];
      const another = await openTicket("another agent's");
      for (const id of theirs) {
        await as(app, a.agent).patch(`/tickets/${id}`, { assigneeId: leaving }).expect(200);
      }
      await as(app, a.agent).patch(`/tickets/${another}`, { assigneeId: a.agentId }).expect(200);
      const inB = (await as(app, b.agent).post('/tickets', { subject: 'in B' }).expect(201)).body
        .id;
      await as(app, b.agent).patch(`/tickets/${inB}`, { assigneeId: leaving }).expect(200);
      const [beforeA, beforeB] = [
        await storedTickets(admin, a.id),
        await storedTickets(admin, b.id),
      ];
      expect(
        beforeA
          .filter((t) => t.assignee_id === leaving)
          .map((t) => t.id)
          .sort(),
      ).toEqual([...theirs].sort());
      expect(beforeB.filter((t) => t.assignee_id === leaving).map((t) => t.id)).toEqual([inB]);

      await as(app, a.admin).delete(`/agents/${leaving}`).expect(204);

      expect(await storedTickets(admin, a.id)).toEqual(
        beforeA.map((t) => (theirs.includes(t.id as string) ? { ...t, assignee_id: null } : t)),
      );
      expect(await storedTickets(admin, b.id)).toEqual(beforeB);
      expect((await agentsOf(a.id)).map((r) => r.user_id)).not.toContain(leaving);
      expect((await agentsOf(b.id)).map((r) => r.user_id)).toContain(leaving);
    });

    it('DELETE waits for a transaction assigning a ticket to that agent, then unassigns that ticket too', async () => {
      const leaving = randomUUID();
      await as(app, a.admin).put(`/agents/${leaving}`).expect(200);
      const id = await openTicket('assigned meanwhile');
      const assigning = await connect('app');
      try {
        await assigning.query('BEGIN');
        await assigning.query(
          `SELECT set_config('app.tenant_id', $1, true), set_config('app.user_id', $2, true),
                  set_config('app.role', 'agent', true)`,
          [a.id, a.agentId],
        );
        await assigning.query(`UPDATE support.tickets SET assignee_id = $1 WHERE id = $2`, [
          leaving,
          id,
        ]);
        const removal = as(app, a.admin)
          .delete(`/agents/${leaving}`)
          .then((res) => res.status);
        const lockWaits = `SELECT count(*)::int AS n FROM pg_stat_activity
                            WHERE datname = current_database() AND wait_event_type = 'Lock'
                              AND query LIKE '%agents%'`;
        for (let tries = 0; (await dbRows(admin, lockWaits))[0].n === 0; tries++) {
          expect(tries).toBeLessThan(200);
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        await assigning.query('COMMIT');
        expect(await removal).toBe(204);
      } finally {
        await assigning.end();
      }
      expect(
        await dbRows(admin, `SELECT assignee_id FROM support.tickets WHERE id = $1`, [id]),
      ).toEqual([{ assignee_id: null }]);
      expect((await agentsOf(a.id)).map((r) => r.user_id)).not.toContain(leaving);
    });

    it('is refused by the database itself: deleting an agent who still has tickets fails (23503) and changes nothing', async () => {
      const busy = randomUUID();
      await as(app, a.admin).put(`/agents/${busy}`).expect(200);
      const id = await openTicket('still assigned');
      await as(app, a.agent).patch(`/tickets/${id}`, { assigneeId: busy }).expect(200);
      const before = await storedTickets(admin, a.id);
      await expect(
        asAppRoleInA(`DELETE FROM support.agents WHERE user_id = $1`, [busy]),
      ).rejects.toMatchObject({ code: '23503', constraint: 'tickets_assignee_agent_fkey' });
      expect(await storedTickets(admin, a.id)).toEqual(before);
      expect((await agentsOf(a.id)).map((r) => r.user_id)).toContain(busy);
    });

    it("DELETE of another tenant's agent is 404 and removes nothing", async () => {
      const before = await agentsOf(b.id);
      const res = await as(app, a.admin).delete(`/agents/${b.agentId}`);
      expect(res.status).toBe(404);
      expect(await agentsOf(b.id)).toEqual(before);
    });

    it.each([
      ['put', '/agents/bob', 'userId must be a UUID'],
      ['delete', '/agents/42', 'userId must be a UUID'],
      ['get', '/agents?cursor=abc', 'cursor must be the nextCursor of the previous page'],
      ['get', `/agents?limit=0&cursor=${UNKNOWN_ID}`, 'limit must not be less than 1'],
    ] as const)('%s %s is 400 naming the field', async (method, url, message) => {
      const res = await as(app, a.admin)[method](url);
      expect(res.status).toBe(400);
      expectErrorShape(res.body, 400);
      expect(res.body.message).toEqual(expect.arrayContaining([message]));
    });
  });
});
