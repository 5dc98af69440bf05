import { randomUUID } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { sign } from 'jsonwebtoken';
import { Client } from 'pg';
import { signToken } from '@app/demo-kit';
import { createTenant } from '../support/db';
import { StatementCounter } from '../support/statement-counter';
import { NOTES_SECRET } from './fixtures/notes.app';
import { get, notesSetup, notesTenant, NotesTenant } from './fixtures/notes.harness';

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** Every malformed, forged or unauthorised token is refused with a clear JSON 401/403 before any row is read. */
describe('TenancyModule: authentication fails closed', () => {
  let owner: Client;
  let app: INestApplication;
  let a: NotesTenant;
  let suspendedId: string;
  const counter = new StatementCounter();
  const now = () => Math.floor(Date.now() / 1000);
  const claims = (extra: object = {}) => ({
    tenant_id: a.id,
    sub: a.userId,
    role: 'member',
    ...extra,
  });
  /** Signs HS256 with an `exp` 10 minutes ahead unless the payload sets its own. */
  const hs = (payload: object, secret = NOTES_SECRET) =>
    sign({ exp: now() + 600, ...payload }, secret, { algorithm: 'HS256' });

  beforeAll(async () => {
    ({ owner, app } = await notesSetup());
    a = await notesTenant(owner, 'auth-a', ['a-secret']);
    suspendedId = await createTenant(owner, 'auth-suspended', 'suspended');
    await get(app, '/notes/raw', a.token).expect(200);
    counter.install();
  });

  afterAll(async () => {
    counter.uninstall();
    await app.close();
    await owner.end();
  });

  const cases: [string, () => string | undefined, number, string][] = [
    ['no token', () => undefined, 401, 'missing bearer token'],
    ['a garbage token', () => 'not-a-jwt', 401, 'malformed token'],
    ['a token with garbage segments', () => 'aaa.bbb.ccc', 401, 'malformed token'],
    [
      'an alg:none token',
      () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`,
      401,
      'unsigned tokens are not accepted',
    ],
    [
      'a token signed with the wrong key',
      () => hs(claims(), 'another-secret-0123456789-0123456789-xx'),
      401,
      'invalid token signature',
    ],
    [
      'an HS512 token (algorithm not accepted)',
      () => sign({ exp: now() + 600, ...claims() }, NOTES_SECRET, { algorithm: 'HS512' }),
      401,
      'token algorithm not accepted',
    ],
    ['an expired token', () => hs(claims({ exp: now() - 60 })), 401, 'token expired'],
    [
      'a token without exp (it would never expire)',
      () => sign(claims(), NOTES_SECRET, { algorithm: 'HS256' }),
      401,
      'token has no expiry (exp claim)',
    ],
    ['a token not yet valid', () => hs(claims({ nbf: now() + 600 })), 401, 'token not yet valid'],
    [
      'a token without tenant_id',
      () => hs({ sub: a.userId, role: 'member' }),
      401,
      'token claim "tenant_id" must be a uuid',
    ],
    [
      'a token without sub',
      () => hs({ tenant_id: a.id, role: 'member' }),
      401,
      'token claim "sub" must be a uuid',
    ],
    [
      'a non-uuid tenant claim',
      () => hs(claims({ tenant_id: 'acme' })),
      401,
      'token claim "tenant_id" must be a uuid',
    ],
    [
      'a non-uuid user claim',
      () => hs(claims({ sub: 42 })),
      401,
      'token claim "sub" must be a uuid',
    ],
    [
      'SQL in the tenant claim',
      () => hs(claims({ tenant_id: `x'; SET app.tenant_id='${randomUUID()}` })),
      401,
      'token claim "tenant_id" must be a uuid',
    ],
    [
      'SQL in the role claim',
      () => hs(claims({ role: `member'; DROP TABLE lib_test.notes; --` })),
      403,
      'token claim "role" must be one of: member, admin',
    ],
    [
      'a token without role',
      () => hs({ tenant_id: a.id, sub: a.userId }),
      401,
      'token claim "role" must be a string',
    ],
    [
      'a non-string role claim',
      () => hs(claims({ role: ['admin'] })),
      401,
      'token claim "role" must be a string',
    ],
    ['an oversize claim', () => hs(claims({ pad: 'x'.repeat(9000) })), 401, 'token too large'],
    [
      'an unknown role',
      () => hs(claims({ role: 'superadmin' })),
      403,
      'token claim "role" must be one of: member, admin',
    ],
  ];

  it.each(cases)(
    'refuses %s with a clear JSON error and sends no statement',
    async (_, token, status, message) => {
      let body: unknown;
      const statements = await counter.during(async () => {
        body = (await get(app, '/notes/raw', token()).expect(status)).body;
      });
      expect(body).toEqual({
        statusCode: status,
        message,
        error: status === 401 ? 'Unauthorized' : 'Forbidden',
      });
      expect(statements).toEqual([]);
    },
  );

  it('refuses an unknown tenant with 401 and reads no tenant row', async () => {
    const token = signToken(NOTES_SECRET, {
      tenantId: randomUUID(),
      userId: randomUUID(),
      role: 'member',
    });
    let body: unknown;
    const statements = await counter.during(async () => {
      body = (await get(app, '/notes/raw', token).expect(401)).body;
    });
    expect(body).toEqual({ statusCode: 401, message: 'unknown tenant', error: 'Unauthorized' });
    expect(statements.filter((s) => s.includes('lib_test'))).toEqual([]);
  });

  it('refuses a suspended tenant with 403 and reads no tenant row', async () => {
    const token = signToken(NOTES_SECRET, {
      tenantId: suspendedId,
      userId: randomUUID(),
      role: 'member',
    });
    let body: unknown;
    const statements = await counter.during(async () => {
      body = (await get(app, '/notes/raw', token).expect(403)).body;
    });
    expect(body).toEqual({ statusCode: 403, message: 'tenant is suspended', error: 'Forbidden' });
    expect(statements.filter((s) => s.includes('lib_test'))).toEqual([]);
  });

  it('caches the tenant status: a valid request costs no status lookup', async () => {
    const statements = await counter.during(() => get(app, '/notes/raw', a.token).expect(200));
    expect(statements.filter((s) => s.includes('tenancy.tenants'))).toEqual([]);
  });

  it('never returns a stack trace', async () => {
    const res = await get(app, '/notes/raw', 'aaa.bbb.ccc').expect(401);
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.(ts|js):\d+/);
  });
});
