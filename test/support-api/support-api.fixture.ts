import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import request from 'supertest';
import { signToken } from '@app/demo-kit';
import { createSupportApp } from '../../apps/support-api/src/support-app';
import { createTenant, inTenant } from '../support/db';
import { testUrl } from '../support/test-env';

/** A well-formed uuid that names no row in any tenant. */
export const UNKNOWN_ID = '3f8e2b9a-1c4d-4e5f-8a6b-7c8d9e0f1a2b';

/** A millisecond ISO-8601 UTC timestamp, as the API writes them. */
export const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The signing secret of the e2e suites' app and tokens. */
export const JWT_SECRET = 'support-api-e2e-secret-0123456789abcdefgh';

/** A fresh tenant with one agent and one admin, and a token for each. */
export interface SupportTenant {
  id: string;
  agentId: string;
  adminId: string;
  agent: string;
  admin: string;
}

/** Boots support-api against the test database as the application role. */
export function startSupportApi(): Promise<INestApplication> {
  return createSupportApp({ databaseUrl: testUrl('appUrl'), jwtSecret: JWT_SECRET, logger: false });
}

/**
 * Creates a tenant (as the owner) with an agent and an admin token; both users are agents of the
 * tenant (`support.agents`), so tickets may be assigned to either.
 */
export async function supportTenant(owner: Client, slug: string): Promise<SupportTenant> {
  const id = await createTenant(owner, slug);
  const agentId = randomUUID();
  const adminId = randomUUID();
  await inTenant(owner, id, () =>
    owner.query(`INSERT INTO support.agents (tenant_id, user_id) VALUES ($1, $2), ($1, $3)`, [
      id,
      agentId,
      adminId,
    ]),
  );
  return {
    id,
    agentId,
    adminId,
    agent: signToken(JWT_SECRET, { tenantId: id, userId: agentId, role: 'agent' }),
    admin: signToken(JWT_SECRET, { tenantId: id, userId: adminId, role: 'admin' }),
  };
}

/** The Authorization header for a token. */
export function auth(token: string): { Authorization: string } {
  return { Authorization: `Bearer ${token}` };
}

/** Sends a request with a bearer token: `as(app, token).get('/tickets')`. */
export function as(app: INestApplication, token: string) {
  const agent = request(app.getHttpServer());
  const header = auth(token);
  return {
    get: (url: string) => agent.get(url).set(header),
    post: (url: string, body?: object) => agent.post(url).set(header).send(body),
    patch: (url: string, body?: object) => agent.patch(url).set(header).send(body),
    put: (url: string, body?: object) => agent.put(url).set(header).send(body),
    delete: (url: string) => agent.delete(url).set(header),
  };
}

/** Rows of a query run as the superuser (sees every tenant: the oracle for what was written). */
export async function dbRows<T = Record<string, unknown>>(
  admin: Client,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  return (await admin.query(sql, params)).rows as T[];
}

/** Ticket rows of one tenant as stored, oldest first, for exact before/after comparisons. */
export function storedTickets(admin: Client, tenantId: string) {
  return dbRows(
    admin,
    `SELECT id, subject, description, status, priority, requester_id, assignee_id, updated_at
       FROM support.tickets WHERE tenant_id = $1 ORDER BY created_at, id`,
    [tenantId],
  );
}

/** Comment rows of one tenant as stored, oldest first. */
export function storedComments(admin: Client, tenantId: string) {
  return dbRows(
    admin,
    `SELECT id, ticket_id, author_id, body FROM support.ticket_comments
      WHERE tenant_id = $1 ORDER BY created_at, id`,
    [tenantId],
  );
}

/** Article rows of one tenant (or the global ones for `null`) as stored, oldest first. */
export function storedArticles(admin: Client, tenantId: string | null) {
  return dbRows(
    admin,
    `SELECT id, tenant_id, title, body, updated_at FROM support.kb_articles
      WHERE tenant_id IS NOT DISTINCT FROM $1::uuid ORDER BY created_at, id`,
    [tenantId],
  );
}

/** The JSON error shape every refusal has: exactly `{statusCode, message, error}`. */
export function expectErrorShape(body: unknown, statusCode: number): void {
  expect(Object.keys(body as object).sort()).toEqual(['error', 'message', 'statusCode']);
  expect((body as { statusCode: number }).statusCode).toBe(statusCode);
  expect(JSON.stringify(body)).not.toMatch(/\bat .+\.(ts|js):\d+/);
}
