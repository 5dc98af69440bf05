import { randomUUID } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import request from 'supertest';
import { signToken } from '@app/demo-kit';
import { createSalesApp } from '../../../apps/sales-api/src/sales-app';
import { connect, createTenant, inTenant } from '../../support/db';
import { testUrl } from '../../support/test-env';

/** Signing secret of the test apps. */
export const SECRET = 'sales-api-test-secret-0123456789-abcdefghij';

/** A booted sales-api and an owner connection (for creating tenants and checking stored rows). */
export interface SalesHarness {
  app: INestApplication;
  owner: Client;
  close(): Promise<void>;
}

/** Boots sales-api as the application role against the test database. */
export async function salesSetup(): Promise<SalesHarness> {
  const owner = await connect('owner');
  const app = await createSalesApp({
    databaseUrl: testUrl('appUrl'),
    jwtSecret: SECRET,
    logger: false,
  });
  return {
    app,
    owner,
    close: async () => {
      await app.close();
      await owner.end();
    },
  };
}

/** A bearer token for one person of a tenant. */
export function tokenFor(tenantId: string, userId: string, role: string): string {
  return signToken(SECRET, { tenantId, userId, role });
}

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** A supertest request with a bearer token (and a JSON body when given). */
export function call(
  app: INestApplication,
  method: Method,
  path: string,
  token: string,
  body?: object,
): request.Test {
  const req = request(app.getHttpServer())[method](path).set('Authorization', `Bearer ${token}`);
  return body === undefined ? req : req.send(body);
}

/**
 * The pages of a paged listing, from `path` (with its query string) on, following `nextCursor`
 * until it is null; every page must answer 200.
 */
export async function walkPages<T>(
  app: INestApplication,
  path: string,
  token: string,
): Promise<T[][]> {
  const pages: T[][] = [];
  let cursor: string | null = null;
  do {
    const url: string = `${path}${cursor ? `&cursor=${cursor}` : ''}`;
    const res = await call(app, 'get', url, token).expect(200);
    pages.push(res.body.items);
    cursor = res.body.nextCursor;
  } while (cursor);
  return pages;
}

/**
 * Query strings a listing by name (`NamePageQuery`) must refuse with 400, each with a part of the
 * message: the limit's bounds, and cursors that are garbage, lack a part, hold no uuid, hold a
 * NUL, are spelt non-canonically, or are too long.
 */
export const BAD_NAME_PAGE_QUERIES: [query: string, message: string][] = [
  ['limit=0', 'limit must not be less than 1'],
  ['limit=101', 'limit must not be greater than 100'],
  ['limit=2.5', 'limit must be an integer number'],
  ['cursor=garbage', 'cursor is malformed'],
  [`cursor=${Buffer.from(randomUUID()).toString('base64url')}`, 'cursor is malformed'],
  [`cursor=${Buffer.from(`${randomUUID()}|`).toString('base64url')}`, 'cursor is malformed'],
  [
    `cursor=${Buffer.from('zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz|x').toString('base64url')}`,
    'cursor is malformed',
  ],
  [`cursor=${Buffer.from(`${randomUUID()}|a\0b`).toString('base64url')}`, 'cursor is malformed'],
  [`cursor=${Buffer.from(`${randomUUID()}|name`).toString('base64')}=`, 'cursor is malformed'],
  [`cursor=${'a'.repeat(1201)}`, 'cursor must be shorter than or equal to 1200 characters'],
];

/** The people of the test organisation, by name. */
export const PEOPLE = [
  'ada',
  'mona',
  'max',
  'rita',
  'ravi',
  'rosa',
  'raj',
  'olga',
  'oscar',
] as const;
/** One of {@link PEOPLE}. */
export type Person = (typeof PEOPLE)[number];

/**
 * The test organisation:
 *
 *   ada (admin)
 *   ├── mona (manager)            manager of managers
 *   │   ├── max (manager)
 *   │   │   ├── rosa (rep)
 *   │   │   └── raj (rep)
 *   │   ├── rita (rep)
 *   │   └── ravi (rep)
 *   └── olga (manager)
 *       └── oscar (rep)
 */
export const ORG: Record<Person, { role: 'rep' | 'manager' | 'admin'; manager: Person | null }> = {
  ada: { role: 'admin', manager: null },
  mona: { role: 'manager', manager: 'ada' },
  max: { role: 'manager', manager: 'mona' },
  rita: { role: 'rep', manager: 'mona' },
  ravi: { role: 'rep', manager: 'mona' },
  rosa: { role: 'rep', manager: 'max' },
  raj: { role: 'rep', manager: 'max' },
  olga: { role: 'manager', manager: 'ada' },
  oscar: { role: 'rep', manager: 'olga' },
};

/** The deals the organisation starts with: key, owner, stage, amount. */
export const DEALS = [
  ['d1', 'rita', 'prospecting', 100],
  ['d2', 'rita', 'won', 250.5],
  ['d3', 'ravi', 'proposal', 1000],
  ['d4', 'rosa', 'negotiation', 2000.25],
  ['d5', 'raj', 'won', 300],
  ['d6', 'max', 'qualification', 50],
  ['d7', 'mona', 'lost', 75.75],
  ['d8', 'olga', 'prospecting', 10],
  ['d9', 'oscar', 'won', 999.99],
  ['d10', 'ada', 'proposal', 5000],
] as const;
/** A key of {@link DEALS}. */
export type DealKey = (typeof DEALS)[number][0];

/** A tenant with the whole organisation, two accounts and the deals, all created over HTTP. */
export interface Org {
  tenantId: string;
  user: Record<Person, string>;
  token: Record<Person, string>;
  accounts: { main: string; other: string };
  deal: Record<DealKey, string>;
  /** Deal ids for keys, sorted (to compare with responses sorted the same way). */
  ids(...keys: DealKey[]): string[];
}

/** Creates a fresh tenant holding {@link ORG}, accounts and {@link DEALS}, through the API as its admin. */
export async function createOrg(h: SalesHarness, slug: string): Promise<Org> {
  const tenantId = await createTenant(h.owner, slug);
  const user = Object.fromEntries(PEOPLE.map((p) => [p, randomUUID()])) as Record<Person, string>;
  const token = Object.fromEntries(
    PEOPLE.map((p) => [p, tokenFor(tenantId, user[p], ORG[p].role)]),
  ) as Record<Person, string>;
  for (const p of PEOPLE) {
    const manager = ORG[p].manager;
    await call(h.app, 'put', `/team/members/${user[p]}`, token.ada, {
      name: p,
      managerId: manager ? user[manager] : null,
    }).expect(200);
  }
  const account = async (name: string) =>
    (await call(h.app, 'post', '/accounts', token.ada, { name }).expect(201)).body.id as string;
  const accounts = { main: await account(`${slug} main`), other: await account(`${slug} other`) };
  const deal = {} as Record<DealKey, string>;
  for (const [key, owner, stage, amount] of DEALS) {
    const res = await call(h.app, 'post', '/deals', token.ada, {
      accountId: key === 'd3' ? accounts.other : accounts.main,
      title: `${slug} ${key}`,
      amount,
      stage,
      ownerId: user[owner],
    }).expect(201);
    deal[key] = res.body.id;
  }
  return {
    tenantId,
    user,
    token,
    accounts,
    deal,
    ids: (...keys) => keys.map((k) => deal[k]).sort(),
  };
}

/** The ids of the deals a caller sees over HTTP, sorted. */
export async function visibleDealIds(
  h: SalesHarness,
  token: string,
  query = '',
): Promise<string[]> {
  const res = await call(h.app, 'get', `/deals${query}`, token).expect(200);
  return (res.body.items as { id: string }[]).map((d) => d.id).sort();
}

/** Stored deal rows of a tenant, read as the owner with the admin role (the whole tenant). */
export async function storedDeals(
  owner: Client,
  tenantId: string,
): Promise<{ id: string; title: string; amount: string; stage: string; owner_id: string }[]> {
  const rows = await inTenant(
    owner,
    tenantId,
    () =>
      owner.query(
        `SELECT id, title, amount::text AS amount, stage, owner_id FROM sales.deals ORDER BY id`,
      ),
    { userId: randomUUID(), role: 'admin' },
  );
  return rows.rows;
}
