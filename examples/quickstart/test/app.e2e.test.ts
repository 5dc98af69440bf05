import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { INestApplication, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import jwt from 'jsonwebtoken';
import { expectTenantIsolation } from 'nestjs-rls-tenancy/testing';
import { Client } from 'pg';

/** A superuser connection of the PostgreSQL the tests may create a database and roles on. */
const ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECRET = randomBytes(32).toString('hex');
const run = randomBytes(4).toString('hex');
const names = { db: `quickstart_${run}`, owner: `qs_owner_${run}`, app: `qs_app_${run}` };
const password = randomBytes(12).toString('hex');

function urlAs(user: string, database: string): string {
  const url = new URL(ADMIN_URL);
  url.username = user;
  url.password = password;
  url.pathname = `/${database}`;
  return url.toString();
}

async function admin<T>(fn: (c: Client) => Promise<T>, database?: string): Promise<T> {
  const url = new URL(ADMIN_URL);
  if (database) url.pathname = `/${database}`;
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

interface Tenant {
  id: string;
  admin: string;
  agent: string;
  userId: string;
}

function token(tenantId: string, userId: string, role: string): string {
  return jwt.sign({ tenant_id: tenantId, role }, SECRET, {
    subject: userId,
    expiresIn: '5m',
    algorithm: 'HS256',
  });
}

describe('the quick start app, installed from the packed library', () => {
  let app: INestApplication;
  let base: string;
  let a: Tenant;
  let b: Tenant;

  const call = (path: string, bearer?: string, init: RequestInit = {}) =>
    fetch(`${base}${path}`, {
      ...init,
      headers: {
        'content-type': 'application/json',
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
      },
    });

  before(async () => {
    await admin(async (c) => {
      await c.query(`CREATE ROLE ${names.owner} LOGIN CREATEROLE PASSWORD '${password}'`);
      await c.query(`CREATE DATABASE ${names.db} OWNER ${names.owner}`);
    });
    process.env.APP_DB_ROLE = names.app;
    const { ownerDataSource } = await import('../src/migrate');
    const owner = ownerDataSource(urlAs(names.owner, names.db));
    await owner.initialize();
    await owner.runMigrations();
    await owner.undoLastMigration(); // down runs cleanly
    await owner.runMigrations(); // and up again
    const tenants: Tenant[] = [];
    for (const slug of ['acme', 'globex']) {
      const [{ id }] = await owner.query(
        `INSERT INTO tenancy.tenants (slug, name) VALUES ($1, $1) RETURNING id`,
        [slug],
      );
      const userId = randomUUID();
      tenants.push({
        id,
        userId,
        admin: token(id, userId, 'admin'),
        agent: token(id, userId, 'agent'),
      });
    }
    [a, b] = tenants;
    await owner.destroy();
    await admin(async (c) => c.query(`ALTER ROLE ${names.app} PASSWORD '${password}'`));

    process.env.APP_DATABASE_URL = urlAs(names.app, names.db);
    process.env.JWT_SECRET = SECRET;
    const { AppModule } = await import('../src/app.module');
    app = await NestFactory.create(AppModule, { logger: false });
    app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true }));
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
  });

  after(async () => {
    await app?.close();
    await admin(async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${names.db} WITH (FORCE)`);
      await c.query(`DROP ROLE IF EXISTS ${names.app}`);
      await c.query(`DROP ROLE IF EXISTS ${names.owner}`);
    });
  });

  it('stores a ticket for the caller and lists only the caller tenant tickets', async () => {
    const created = await call('/tickets', a.agent, {
      method: 'POST',
      body: JSON.stringify({ subject: 'printer on fire' }),
    });
    assert.equal(created.status, 201);
    const mine = await call('/tickets', b.agent, {
      method: 'POST',
      body: JSON.stringify({ subject: 'login broken' }),
    });
    assert.equal(mine.status, 201);
    const listA = (await (await call('/tickets', a.agent)).json()) as { subject: string }[];
    const listB = (await (await call('/tickets', b.agent)).json()) as { subject: string }[];
    assert.deepEqual(
      listA.map((t) => t.subject),
      ['printer on fire'],
    );
    assert.deepEqual(
      listB.map((t) => t.subject),
      ['login broken'],
    );
  });

  it("answers 404 for another tenant's ticket, even to its admin", async () => {
    const [ticket] = (await (await call('/tickets', a.agent)).json()) as { id: string }[];
    assert.equal((await call(`/tickets/${ticket.id}`, b.agent)).status, 404);
    assert.equal((await call(`/tickets/${ticket.id}`, b.admin, { method: 'DELETE' })).status, 404);
    assert.equal((await call(`/tickets/${ticket.id}`, a.agent)).status, 200);
  });

  it('refuses a missing token (401), a role without the right (403) and a bad body (400)', async () => {
    const [ticket] = (await (await call('/tickets', a.agent)).json()) as { id: string }[];
    assert.equal((await call('/tickets')).status, 401);
    assert.equal((await call(`/tickets/${ticket.id}`, a.agent, { method: 'DELETE' })).status, 403);
    const bad = await call('/tickets', a.agent, { method: 'POST', body: JSON.stringify({}) });
    assert.equal(bad.status, 400);
  });

  it('passes the leak-test kit (nestjs-rls-tenancy/testing) on every tenant table', async () => {
    const context = (t: Tenant) => ({ tenantId: t.id, userId: t.userId, role: 'admin' });
    await expectTenantIsolation(app, { a: context(a), b: context(b) });
  });
});
