import { randomUUID } from 'node:crypto';
import { sign } from 'jsonwebtoken';
import { Client } from 'pg';
import request from 'supertest';
import { signToken } from '@app/demo-kit';
import { TenantAuthGuard } from '@app/tenancy';
import { inTenant } from '../support/db';
import {
  call,
  createOrg,
  Org,
  PEOPLE,
  SalesHarness,
  salesSetup,
  SECRET,
  visibleDealIds,
} from './support/sales-harness';

interface GqlError {
  message: string;
  path?: (string | number)[];
  extensions: Record<string, unknown>;
}
interface GqlBody {
  data?: Record<string, unknown> | null;
  errors?: GqlError[];
}
interface Sent {
  pid: number;
  text: string;
}
type QueryFn = (...args: unknown[]) => unknown;

/** Records each statement any pg Client sends, with the backend process that received it. */
async function statementsDuring<T>(fn: () => Promise<T>): Promise<{ result: T; sent: Sent[] }> {
  const proto = Client.prototype as unknown as { query: QueryFn };
  const original = proto.query;
  const sent: Sent[] = [];
  proto.query = function (this: { processID: number }, ...args: unknown[]) {
    const first = args[0] as string | { text?: string } | undefined;
    sent.push({
      pid: this.processID,
      text: typeof first === 'string' ? first : (first?.text ?? '<custom>'),
    });
    return original.apply(this, args);
  };
  try {
    return { result: await fn(), sent };
  } finally {
    proto.query = original;
  }
}

/** The statements that read or write sales rows (not the transaction's, the settings or the status). */
const salesStatements = (sent: Sent[]) =>
  sent.filter((s) => /"sales"\./.test(s.text) && !/set_config\(/.test(s.text));
const count = (sent: Sent[], re: RegExp) => sent.filter((s) => re.test(s.text)).length;

/** `/graphql` of sales-api: deals, accounts and the pipeline in one tenant transaction per request. */
describe('sales-api: GraphQL', () => {
  let h: SalesHarness;
  let org: Org;
  let other: Org;

  beforeAll(async () => {
    h = await salesSetup();
    org = await createOrg(h, 'gqla');
    other = await createOrg(h, 'gqlb');
  });

  afterAll(() => h.close());

  /** POSTs one GraphQL operation; every error must carry a code and nothing else (no stack). */
  async function gql(token: string | undefined, query: string, variables?: object) {
    const req = request(h.app.getHttpServer()).post('/graphql');
    if (token) req.set('Authorization', `Bearer ${token}`);
    const res = await req.send({ query, variables }).expect(200);
    const body = res.body as GqlBody;
    for (const error of body.errors ?? []) expect(Object.keys(error.extensions)).toEqual(['code']);
    return body;
  }

  const codes = (body: GqlBody) => (body.errors ?? []).map((e) => e.extensions.code);

  it('gives each person exactly the deals GET /deals gives them, and the same pipeline', async () => {
    for (const person of PEOPLE) {
      const token = org.token[person];
      const body = await gql(
        token,
        '{ deals(limit: 100) { items { id } } pipeline { stages { stage count totalAmount } } }',
      );
      expect(body.errors).toBeUndefined();
      const data = body.data as {
        deals: { items: { id: string }[] };
        pipeline: { stages: unknown[] };
      };
      expect(data.deals.items.map((d) => d.id).sort()).toEqual(await visibleDealIds(h, token));
      const rest = await call(h.app, 'get', '/reports/pipeline', token).expect(200);
      expect(data.pipeline).toEqual(rest.body);
    }
  });

  it("answers NOT_FOUND and null for another tenant's deal and account, reading zero rows", async () => {
    const { result: body, sent } = await statementsDuring(() =>
      gql(
        org.token.ada,
        `query($d: ID!, $a: ID!) { deal(id: $d) { id title } account(id: $a) { id name } }`,
        { d: other.deal.d1, a: other.accounts.main },
      ),
    );
    expect(body.data).toEqual({ deal: null, account: null });
    expect(codes(body).sort()).toEqual(['NOT_FOUND', 'NOT_FOUND']);
    expect(salesStatements(sent)).toHaveLength(2);
    expect(JSON.stringify(body)).not.toContain('gqlb');
  });

  it("answers NOT_FOUND for a deal of the same tenant outside a rep's scope, as REST answers 404", async () => {
    await call(h.app, 'get', `/deals/${org.deal.d3}`, org.token.rita).expect(404);
    const body = await gql(org.token.rita, `{ deal(id: "${org.deal.d3}") { id } }`);
    expect(body.data).toEqual({ deal: null });
    expect(codes(body)).toEqual(['NOT_FOUND']);
  });

  it('runs a query that fans out over many field resolvers and two DataLoaders in one transaction, within the caller scope', async () => {
    const query = `{ accounts(limit: 100) { items { id name deals { id ownerId account { id deals { id account { name } } } } } } }`;
    const { result: body, sent } = await statementsDuring(() => gql(org.token.max, query));
    expect(body.errors).toBeUndefined();
    type D = {
      id: string;
      account: { id: string; deals: { id: string; account: { name: string } }[] };
    };
    const items = (body.data as { accounts: { items: { id: string; name: string; deals: D[] }[] } })
      .accounts.items;
    expect(items.map((a) => a.name)).toEqual(['gqla main', 'gqla other']);
    const seen = new Set<string>();
    for (const account of items) {
      for (const deal of account.deals) {
        seen.add(deal.id);
        expect(deal.account.id).toBe(account.id);
        for (const inner of deal.account.deals) seen.add(inner.id);
      }
    }
    expect([...seen].sort()).toEqual(org.ids('d4', 'd5', 'd6'));
    expect(new Set(sent.map((s) => s.pid)).size).toBe(1);
    expect(count(sent, /^\s*START TRANSACTION/i)).toBe(1);
    expect(count(sent, /set_config\(/)).toBe(1);
    expect(
      salesStatements(sent).map((s) => /"account_id" IN|"id" IN|"accounts" "a"/.exec(s.text)?.[0]),
    ).toEqual(['"accounts" "a"', '"account_id" IN', '"id" IN']);
  });

  it('shares one authentication and one transaction among 50 aliased root fields, each isolated', async () => {
    const guard = jest.spyOn(
      TenantAuthGuard.prototype as unknown as { authenticate: () => Promise<unknown> },
      'authenticate',
    );
    const fields: string[] = [];
    const expected: Record<string, unknown> = {};
    const own = org.ids('d1', 'd2');
    for (let i = 0; i < 50; i++) {
      if (i % 5 === 0) {
        fields.push(`f${i}: pipeline { stages { count } }`);
        expected[`f${i}`] = {
          stages: [
            { count: 1 },
            { count: 0 },
            { count: 0 },
            { count: 0 },
            { count: 1 },
            { count: 0 },
          ],
        };
      } else if (i % 5 === 1) {
        fields.push(`f${i}: deal(id: "${other.deal.d1}") { id }`);
        expected[`f${i}`] = null;
      } else if (i % 5 === 2) {
        fields.push(`f${i}: deal(id: "${org.deal.d10}") { id }`);
        expected[`f${i}`] = null;
      } else if (i % 5 === 3) {
        fields.push(`f${i}: deals { items { id } }`);
        expected[`f${i}`] = { items: own.map((id) => ({ id })) };
      } else {
        fields.push(`f${i}: deal(id: "${own[i % 2]}") { id account { name } }`);
        expected[`f${i}`] = { id: own[i % 2], account: { name: 'gqla main' } };
      }
    }
    try {
      const { result: body, sent } = await statementsDuring(() =>
        gql(org.token.rita, `{ ${fields.join('\n')} }`),
      );
      const sorted = (v: unknown) => v;
      const data = body.data as Record<string, { items?: { id: string }[] } | null>;
      for (const key of Object.keys(expected)) {
        const value = data[key];
        if (value?.items) value.items.sort((a, b) => a.id.localeCompare(b.id));
        expect(sorted(value)).toEqual(expected[key]);
      }
      expect(codes(body)).toEqual(Array(20).fill('NOT_FOUND'));
      expect(guard).toHaveBeenCalledTimes(1);
      expect(new Set(sent.map((s) => s.pid)).size).toBe(1);
      expect(count(sent, /^\s*START TRANSACTION/i)).toBe(1);
      expect(count(sent, /set_config\(/)).toBe(1);
    } finally {
      guard.mockRestore();
    }
  });

  it('keeps two concurrent requests of two tenants apart', async () => {
    const [a, b] = await Promise.all([
      gql(org.token.ada, '{ deals(limit: 100) { items { id } } }'),
      gql(other.token.ada, '{ deals(limit: 100) { items { id } } }'),
    ]);
    const ids = (body: GqlBody) =>
      (body.data as { deals: { items: { id: string }[] } }).deals.items.map((d) => d.id).sort();
    expect(ids(a)).toEqual(org.ids('d1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7', 'd8', 'd9', 'd10'));
    expect(ids(b)).toEqual(other.ids('d1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7', 'd8', 'd9', 'd10'));
  });

  it('answers UNAUTHENTICATED on every field for a missing, forged or expired token, sending no statement', async () => {
    const forged = signToken('another-secret-0123456789-abcdefghijklmnop', {
      tenantId: org.tenantId,
      userId: org.user.ada,
      role: 'admin',
    });
    const expired = sign(
      { tenant_id: org.tenantId, role: 'admin', exp: Math.floor(Date.now() / 1000) - 60 },
      SECRET,
      { algorithm: 'HS256', subject: org.user.ada },
    );
    for (const token of [undefined, forged, expired, 'garbage']) {
      const { result: body, sent } = await statementsDuring(() =>
        gql(
          token,
          `{ a: deals { items { id } } b: pipeline { stages { count } } c: deal(id: "${org.deal.d1}") { id } }`,
        ),
      );
      expect(body.data).toBeNull();
      expect(codes(body).length).toBeGreaterThan(0);
      expect(new Set(codes(body))).toEqual(new Set(['UNAUTHENTICATED']));
      expect(sent).toEqual([]);
    }
  });

  it('enforces @Roles() on a mutation: FORBIDDEN for a rep (the deal stays), done for an admin', async () => {
    const id = (
      await call(h.app, 'post', '/deals', org.token.ada, {
        accountId: org.accounts.main,
        title: 'gqla doomed',
        amount: 1,
        ownerId: org.user.rita,
      }).expect(201)
    ).body.id as string;
    const refused = await gql(org.token.rita, `mutation { deleteDeal(id: "${id}") }`);
    expect(refused.data).toBeNull();
    expect(codes(refused)).toEqual(['FORBIDDEN']);
    await call(h.app, 'get', `/deals/${id}`, org.token.ada).expect(200);
    const done = await gql(org.token.ada, `mutation { deleteDeal(id: "${id}") }`);
    expect(done).toEqual({ data: { deleteDeal: true } });
    await call(h.app, 'get', `/deals/${id}`, org.token.ada).expect(404);
  });

  it('commits a mutation, and rolls the whole operation back when one of its fields fails', async () => {
    const name = `gqla ${randomUUID()}`;
    const stored = (n: string) =>
      inTenant(
        h.owner,
        org.tenantId,
        async () =>
          (
            await h.owner.query(`SELECT count(*)::int AS n FROM sales.accounts WHERE name = $1`, [
              n,
            ])
          ).rows[0].n as number,
        { userId: org.user.ada, role: 'admin' },
      );
    const failed = await gql(
      org.token.ada,
      `mutation { a: createAccount(input: { name: "${name}" }) { id } b: deleteDeal(id: "${randomUUID()}") }`,
    );
    expect(failed.data).toBeNull();
    expect(codes(failed)).toEqual(['NOT_FOUND']);
    expect(await stored(name)).toBe(0);
    const ok = await gql(
      org.token.ada,
      `mutation { createAccount(input: { name: "${name}" }) { name } }`,
    );
    expect(ok).toEqual({ data: { createAccount: { name } } });
    expect(await stored(name)).toBe(1);
  });

  it('answers BAD_USER_INPUT for a malformed id or input before any SQL, and the other fields still answer', async () => {
    const body = await gql(
      org.token.rita,
      `{ bad: deal(id: "not-a-uuid") { id } good: deal(id: "${org.deal.d1}") { id } }`,
    );
    expect(body.data).toEqual({ bad: null, good: { id: org.deal.d1 } });
    expect(codes(body)).toEqual(['BAD_USER_INPUT']);
    expect(body.errors![0].message).toBe('id must be a UUID');
    const input = await gql(
      org.token.rita,
      `mutation { updateDeal(id: "${org.deal.d1}", input: { amount: -1 }) { id } }`,
    );
    expect(codes(input)).toEqual(['BAD_USER_INPUT']);
    expect(input.errors![0].message).toContain('amount must not be less than 0');
  });
});
