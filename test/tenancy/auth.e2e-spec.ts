import { createHmac, randomUUID } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { sign } from 'jsonwebtoken';
import { Client } from 'pg';
import { signToken } from '@app/demo-kit';
import { createTenant } from '../support/db';
import { HTTP_ADAPTERS } from '../support/http-adapter';
import { StatementCounter } from '../support/statement-counter';
import { NOTES_SECRET } from './fixtures/notes.app';
import { get, notesSetup, notesTenant, NotesTenant } from './fixtures/notes.harness';

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** Signs HS256 over a payload written by hand, so that JSON.stringify cannot normalise `1e999`. */
const signJson = (payload: string) => {
  const signed = `${b64({ alg: 'HS256', typ: 'JWT' })}.${Buffer.from(payload).toString('base64url')}`;
  return `${signed}.${createHmac('sha256', NOTES_SECRET).update(signed).digest('base64url')}`;
};

const TIME_RANGE = 'must be a time in seconds from 0 to 253402300799 (year 9999)';

/** Every malformed, forged or unauthorised token is refused with a clear JSON 401/403 before any row is read. */
for (const adapter of HTTP_ADAPTERS) {
  describe(`TenancyModule: authentication fails closed (${adapter})`, () => {
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
    /** The claims as JSON text with `times` (raw JSON members such as `"exp":1e999`) appended. */
    const claimsJson = (times: string) => `${JSON.stringify(claims()).slice(0, -1)},${times}}`;
    /** Signs HS256 with an `exp` 10 minutes ahead unless the payload sets its own. */
    const hs = (payload: object, secret = NOTES_SECRET) =>
      sign({ exp: now() + 600, ...payload }, secret, { algorithm: 'HS256' });

    beforeAll(async () => {
      ({ owner, app } = await notesSetup({ adapter }));
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
        'an exp of 1e999 (Infinity once parsed: it would never expire)',
        () => signJson(claimsJson('"exp":1e999')),
        401,
        `token claim "exp" ${TIME_RANGE}`,
      ],
      [
        'an exp of 1e300 (finite, far past year 9999)',
        () => signJson(claimsJson('"exp":1e300')),
        401,
        `token claim "exp" ${TIME_RANGE}`,
      ],
      [
        'an exp one second after 9999-12-31T23:59:59Z',
        () => hs(claims({ exp: 253402300800 })),
        401,
        `token claim "exp" ${TIME_RANGE}`,
      ],
      [
        'an nbf of -1e999 (minus Infinity)',
        () => signJson(claimsJson(`"exp":${now() + 600},"nbf":-1e999`)),
        401,
        `token claim "nbf" ${TIME_RANGE}`,
      ],
      ['a negative nbf', () => hs(claims({ nbf: -1 })), 401, `token claim "nbf" ${TIME_RANGE}`],
      [
        'an exp that is a string',
        () => signJson(claimsJson('"exp":"tomorrow"')),
        401,
        'invalid exp claim: seconds since the epoch expected',
      ],
      [
        'an nbf that is a string',
        () => signJson(claimsJson(`"exp":${now() + 600},"nbf":"yesterday"`)),
        401,
        'invalid nbf claim: seconds since the epoch expected',
      ],
      [
        'an iat of 1e999',
        () => signJson(claimsJson(`"exp":${now() + 600},"iat":1e999`)),
        401,
        `token claim "iat" ${TIME_RANGE}`,
      ],
      ['a negative iat', () => hs(claims({ iat: -1 })), 401, `token claim "iat" ${TIME_RANGE}`],
      [
        'an iat a minute in the future',
        () => hs(claims({ iat: now() + 60 })),
        401,
        'token issued in the future (iat claim)',
      ],
      [
        'an iat in year 9999',
        () => hs(claims({ iat: 253402300799 })),
        401,
        'token issued in the future (iat claim)',
      ],
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

    it.each([
      ['an exp at 9999-12-31T23:59:59Z, the last accepted second', () => ({ exp: 253402300799 })],
      ['a fractional exp', () => ({ exp: now() + 600.5 })],
      ['an iat and nbf of now', () => ({ iat: now(), nbf: now() })],
      ['an iat and nbf of 0', () => ({ iat: 0, nbf: 0 })],
    ])('accepts %s', async (_, times) => {
      const res = await get(app, '/notes/raw', hs(claims(times()))).expect(200);
      expect(res.body).toEqual(['a-secret']);
    });

    it('signs the 1e999 cases over JSON that really says 1e999 (Infinity once parsed)', () => {
      const json = Buffer.from(signJson(claimsJson('"exp":1e999')).split('.')[1], 'base64url');
      expect(json.toString()).toContain('"exp":1e999}');
      expect(JSON.parse(json.toString()).exp).toBe(Infinity);
    });

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
}
