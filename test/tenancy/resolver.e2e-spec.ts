import { randomUUID } from 'node:crypto';
import { ExecutionContext, INestApplication, Injectable } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthGuard, PassportStrategy } from '@nestjs/passport';
import { sign } from 'jsonwebtoken';
import passport from 'passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { Client } from 'pg';
import request from 'supertest';
import { TenantClaims } from '@app/tenancy';
import { createTenant } from '../support/db';
import { HTTP_ADAPTERS } from '../support/http-adapter';
import { testUrl } from '../support/test-env';
import { createNotesApp } from './fixtures/notes.app';
import { get, notesSetup, notesTenant, NotesTenant } from './fixtures/notes.harness';

/** The tenant, user and role of each API key the test app knows. */
const apiKeys = new Map<string, TenantClaims>();

/** Maps the `x-api-key` header to its claims; a key named `throws` makes the resolver throw. */
function apiKeyResolver(context: ExecutionContext): TenantClaims | undefined {
  const key = context.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers[
    'x-api-key'
  ];
  if (key === 'throws') throw new Error('key store unavailable');
  return apiKeys.get(key);
}

const withKey = (app: INestApplication, path: string, key: string) =>
  request(app.getHttpServer()).get(path).set('x-api-key', key);

/** The library's JWT strategy names currently registered in passport. */
const tenancyStrategies = () =>
  Object.keys((passport as unknown as { _strategies: Record<string, unknown> })._strategies).filter(
    (name) => name.startsWith('tenancy-jwt'),
  );

for (const adapter of HTTP_ADAPTERS) {
  describe(`TenancyModule: resolveTenantContext (an API key) gets the JWT path checks (${adapter})`, () => {
    let owner: Client;
    let app: INestApplication;
    let a: NotesTenant;
    let b: NotesTenant;

    beforeAll(async () => {
      ({ owner, app } = await notesSetup({
        adapter,
        tenancy: { jwt: undefined, resolveTenantContext: apiKeyResolver },
      }));
      a = await notesTenant(owner, 'resolver-a', ['a-1', 'a-2']);
      b = await notesTenant(owner, 'resolver-b', ['b-1']);
      const suspendedId = await createTenant(owner, 'resolver-suspended', 'suspended');
      const user = randomUUID();
      apiKeys.set('key-a', { tenantId: a.id, userId: a.userId, role: 'member' });
      apiKeys.set('key-a-upper', { tenantId: a.id.toUpperCase(), userId: user, role: 'admin' });
      apiKeys.set('key-b', { tenantId: b.id, userId: b.userId, role: 'member' });
      apiKeys.set('key-not-uuid', { tenantId: 'acme', userId: user, role: 'member' });
      apiKeys.set('key-bad-user', { tenantId: a.id, userId: 42, role: 'member' });
      apiKeys.set('key-owner', { tenantId: a.id, userId: user, role: 'owner' });
      apiKeys.set('key-suspended', { tenantId: suspendedId, userId: user, role: 'member' });
      apiKeys.set('key-unknown-tenant', { tenantId: randomUUID(), userId: user, role: 'member' });
    });

    afterAll(async () => {
      await app.close();
      await owner.end();
    });

    it('starts without the jwt option, registering no JWT strategy in passport', () => {
      expect(tenancyStrategies()).toEqual([]);
    });

    it("returns exactly the rows of the key's tenant", async () => {
      await withKey(app, '/notes/raw', 'key-a').expect(200, ['a-1', 'a-2']);
      await withKey(app, '/notes/repository', 'key-b').expect(200, ['b-1']);
    });

    it('writes the resolved tenant, user and role to the transaction settings, lower-cased', async () => {
      const { body } = await withKey(app, '/notes/settings', 'key-a-upper').expect(200);
      expect(body).toEqual({
        tenantId: a.id,
        userId: apiKeys.get('key-a-upper')!.userId,
        role: 'admin',
        requestId: expect.any(String),
      });
    });

    it.each([
      ['an unknown key', 'key-missing', 'not authenticated'],
      ['a resolver that throws', 'throws', 'not authenticated'],
      ['a tenant that is not a uuid', 'key-not-uuid', 'resolved tenantId must be a uuid'],
      ['a user that is not a uuid', 'key-bad-user', 'resolved userId must be a uuid'],
      ['a tenant missing from the registry', 'key-unknown-tenant', 'unknown tenant'],
    ])('refuses %s with 401', async (_case, key, message) => {
      const { body } = await withKey(app, '/notes/raw', key).expect(401);
      expect(body.message).toBe(message);
    });

    it('refuses a request without a key with 401', async () => {
      const { body } = await get(app, '/notes/raw').expect(401);
      expect(body.message).toBe('not authenticated');
    });

    it('refuses a role that is not configured with 403', async () => {
      const { body } = await withKey(app, '/notes/raw', 'key-owner').expect(403);
      expect(body.message).toBe('resolved role must be one of: member, admin');
    });

    it('refuses a suspended tenant with 403', async () => {
      const { body } = await withKey(app, '/notes/raw', 'key-suspended').expect(403);
      expect(body.message).toBe('tenant is suspended');
    });

    it('no longer accepts the built-in bearer token: the resolver replaces the JWT path', async () => {
      const { body } = await get(app, '/notes/raw', a.token).expect(401);
      expect(body.message).toBe('not authenticated');
    });
  });
}

const APP_SECRET = 'the-apps-own-secret-0123456789-abcdefghij';

/** The app's own @nestjs/passport strategy, with its own secret and claim names. */
@Injectable()
class AppJwtStrategy extends PassportStrategy(Strategy, 'notes-app-jwt') {
  constructor() {
    super({ jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(), secretOrKey: APP_SECRET });
  }

  validate(payload: { org: string; sub: string; perm: string }) {
    return { org: payload.org, uid: payload.sub, perm: payload.perm };
  }
}

for (const adapter of HTTP_ADAPTERS) {
  describe(`TenancyModule: resolveTenantContext reads the app's own @nestjs/passport user (${adapter})`, () => {
    let owner: Client;
    let app: INestApplication;
    let a: NotesTenant;
    const appToken = (claims: object, secret = APP_SECRET) =>
      sign(claims, secret, { algorithm: 'HS256', expiresIn: '10m' });

    beforeAll(async () => {
      ({ owner, app } = await notesSetup({
        adapter,
        tenancy: {
          jwt: undefined, // as in the README: the app's own guard authenticates
          resolveTenantContext: (context) => {
            const user = context
              .switchToHttp()
              .getRequest<{ user?: Record<string, unknown> }>().user;
            return user && { tenantId: user.org, userId: user.uid, role: user.perm };
          },
        },
        providers: [AppJwtStrategy, { provide: APP_GUARD, useClass: AuthGuard('notes-app-jwt') }],
      }));
      a = await notesTenant(owner, 'own-passport-a', ['own-1']);
    });

    afterAll(async () => {
      await app.close();
      await owner.end();
    });

    it("returns exactly the rows of the tenant in the app's own token", async () => {
      const token = appToken({ org: a.id, sub: a.userId, perm: 'member' });
      await get(app, '/notes/raw', token).expect(200, ['own-1']);
    });

    it("refuses a token of the library's JWT secret with the app guard's 401", async () => {
      await get(app, '/notes/raw', a.token).expect(401);
    });

    it("refuses a role in the app's token that is not configured with 403", async () => {
      const token = appToken({ org: a.id, sub: a.userId, perm: 'owner' });
      const { body } = await get(app, '/notes/raw', token).expect(403);
      expect(body.message).toBe('resolved role must be one of: member, admin');
    });
  });
}

describe('TenancyModule: its JWT strategy in passport', () => {
  it('registers it under a name of its own per app and removes it when the app closes', async () => {
    const before = tenancyStrategies();
    const first = await createNotesApp({ databaseUrl: testUrl('appUrl') });
    const second = await createNotesApp({ databaseUrl: testUrl('appUrl') });
    const added = tenancyStrategies().filter((name) => !before.includes(name));
    expect(added).toHaveLength(2);
    await first.close();
    await second.close();
    expect(tenancyStrategies()).toEqual(before);
  });
});
