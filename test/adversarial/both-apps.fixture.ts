import { randomUUID } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import request from 'supertest';
import { signToken } from '@app/demo-kit';
import { createSalesApp } from '../../apps/sales-api/src/sales-app';
import { createSupportApp } from '../../apps/support-api/src/support-app';
import { createTenant } from '../support/db';
import { testUrl } from '../support/test-env';
import { findPgBouncer, RunningPgBouncer, startPgBouncer } from '../isolation/support/pgbouncer';

export const SECRET = 'adversarial-suite-secret-0123456789-abcdefgh';

/**
 * Both apps in one process, on the test database directly or through PgBouncer (transaction mode):
 * support-api on Express and sales-api on Fastify, so every pass attacks both HTTP platforms.
 */
export interface BothApps {
  support: INestApplication;
  sales: INestApplication;
  supportUrl: string;
  salesUrl: string;
  close(): Promise<void>;
}

/** Where the apps' connections go. */
export type Via = 'direct' | 'pgbouncer';

/** The routes to run the suites through: always direct, and PgBouncer when it is installed. */
export function vias(): Via[] {
  if (findPgBouncer()) return ['direct', 'pgbouncer'];
  console.warn(
    '[adversarial] pgbouncer is not installed: the PgBouncer pass is skipped (apt-get install pgbouncer)',
  );
  return ['direct'];
}

/** Starts both apps (listening on free ports), pool `poolSize` each, via `via`. */
export async function startBothApps(via: Via, poolSize = 4): Promise<BothApps> {
  let bouncer: RunningPgBouncer | undefined;
  let databaseUrl = testUrl('appUrl');
  if (via === 'pgbouncer') {
    bouncer = await startPgBouncer({
      binary: findPgBouncer()!,
      urls: [databaseUrl],
      defaultPoolSize: 3,
    });
    databaseUrl = bouncer.via(databaseUrl);
  }
  const config = {
    databaseUrl,
    jwtSecret: SECRET,
    poolSize,
    logger: false as const,
    // Named statements do not survive PgBouncer's transaction pooling before 1.21.
    preparedSettings: via === 'direct',
  };
  const support = await createSupportApp(config);
  const sales = await createSalesApp(config);
  await support.listen(0, '127.0.0.1');
  await sales.listen(0, '127.0.0.1');
  return {
    support,
    sales,
    supportUrl: await support.getUrl(),
    salesUrl: await sales.getUrl(),
    close: async () => {
      await support.close();
      await sales.close();
      await bouncer?.stop();
    },
  };
}

/** A tenant with users of every role in both apps, and a tag every row it writes carries. */
export interface Org {
  id: string;
  tag: string;
  agent: string;
  supportAdmin: string;
  salesAdmin: string;
  manager: string;
  rep: string;
  repId: string;
  managerId: string;
  accountId: string;
}

/** Creates a tenant and its sales team (admin, manager, rep) and one account, over HTTP. */
export async function createOrg(owner: Client, apps: BothApps, tag: string): Promise<Org> {
  const id = await createTenant(owner, tag);
  const [adminId, managerId, repId, agentId] = [
    randomUUID(),
    randomUUID(),
    randomUUID(),
    randomUUID(),
  ];
  const t = (userId: string, role: string) => signToken(SECRET, { tenantId: id, userId, role });
  const salesAdmin = t(adminId, 'admin');
  const put = (userId: string, name: string, managerOf: string | null) =>
    request(apps.salesUrl)
      .put(`/team/members/${userId}`)
      .set('Authorization', `Bearer ${salesAdmin}`)
      .send({ name: `${tag}:${name}`, managerId: managerOf })
      .expect(200);
  await put(adminId, 'admin', null);
  await put(managerId, 'manager', adminId);
  await put(repId, 'rep', managerId);
  const account = await request(apps.salesUrl)
    .post('/accounts')
    .set('Authorization', `Bearer ${salesAdmin}`)
    .send({ name: `${tag}:account` })
    .expect(201);
  return {
    id,
    tag,
    agent: t(agentId, 'agent'),
    supportAdmin: t(adminId, 'admin'),
    salesAdmin,
    manager: t(managerId, 'manager'),
    rep: t(repId, 'rep'),
    repId,
    managerId,
    accountId: account.body.id as string,
  };
}

/** Every tenant-owned row of a tenant, as the owner inside that tenant (role admin sees all deals). */
export async function snapshot(
  owner: Client,
  tenantId: string,
): Promise<Record<string, unknown[]>> {
  await owner.query('BEGIN');
  try {
    await owner.query(
      `SELECT set_config('app.tenant_id', $1, true), set_config('app.role', 'admin', true),
              set_config('app.user_id', '00000000-0000-4000-8000-0000000000ad', true)`,
      [tenantId],
    );
    const out: Record<string, unknown[]> = {};
    for (const table of [
      'support.tickets',
      'support.ticket_comments',
      'support.kb_articles',
      'sales.team_members',
      'sales.accounts',
      'sales.deals',
    ]) {
      out[table] = (
        await owner.query(
          `SELECT to_jsonb(x) - 'search' AS row FROM ${table} x WHERE tenant_id = $1 ORDER BY 1`,
          [tenantId],
        )
      ).rows.map((r) => r.row);
    }
    return out;
  } finally {
    await owner.query('COMMIT');
  }
}
