import { generateKeyPairSync } from 'node:crypto';
import { sign, verify } from 'jsonwebtoken';
import { TenancyConfigurationError } from './errors/tenancy.error';
import { resolveTenancyOptions } from './tenancy-options.resolve';
import { ResolvedTenancyOptions, TenancyClaimNames, TenancySettingNames } from './tenancy.options';

const SECRET = 'a-test-secret-of-at-least-32-characters!!';
const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PUBLIC_PEM = publicKey.export({ type: 'spki', format: 'pem' }).toString();

describe('resolveTenancyOptions: the JWT verification key', () => {
  it('turns jwt.secret into a secret KeyObject once, which verifies HS256 tokens signed with the string', () => {
    const jwt = resolveTenancyOptions({ jwt: { secret: SECRET }, roles: ['agent'] }).jwt!;
    expect(jwt.key.type).toBe('secret');
    expect(jwt.key.export().equals(Buffer.from(SECRET, 'utf8'))).toBe(true);
    const token = sign({ sub: 'x' }, SECRET, { algorithm: 'HS256' });
    expect(verify(token, jwt.key, { algorithms: jwt.algorithms })).toMatchObject({ sub: 'x' });
    const forged = sign({ sub: 'x' }, `${SECRET}?`, { algorithm: 'HS256' });
    expect(() => verify(forged, jwt.key, { algorithms: jwt.algorithms })).toThrow(
      'invalid signature',
    );
  });

  it('parses jwt.publicKey once; RS256 tokens verify, an HS256 token keyed with the PEM does not', () => {
    const jwt = resolveTenancyOptions({ jwt: { publicKey: PUBLIC_PEM }, roles: ['agent'] }).jwt!;
    expect(jwt.key.type).toBe('public');
    expect(jwt.algorithms).toEqual(['RS256']);
    const token = sign({ sub: 'y' }, privateKey, { algorithm: 'RS256' });
    expect(verify(token, jwt.key, { algorithms: jwt.algorithms })).toMatchObject({ sub: 'y' });
    const confused = sign({ sub: 'y' }, PUBLIC_PEM, { algorithm: 'HS256' });
    expect(() => verify(confused, jwt.key, { algorithms: jwt.algorithms })).toThrow(
      'invalid algorithm',
    );
    expect(() => verify(confused, jwt.key, { algorithms: ['RS256', 'HS256'] })).toThrow(
      'secretOrPublicKey must be a symmetric key when using HS256',
    );
  });

  it('refuses a publicKey that is not a public key, and a missing or short secret', () => {
    const roles = ['agent'];
    expect(() => resolveTenancyOptions({ jwt: { publicKey: 'not a pem' }, roles })).toThrow(
      TenancyConfigurationError,
    );
    expect(() => resolveTenancyOptions({ jwt: { publicKey: 'not a pem' }, roles })).toThrow(
      /jwt\.publicKey is not a valid public key/,
    );
    expect(() => resolveTenancyOptions({ jwt: {}, roles })).toThrow(/needs jwt\.secret/);
    expect(() => resolveTenancyOptions({ jwt: { secret: 'short' }, roles })).toThrow(
      /at least 32 characters/,
    );
  });
});

describe('resolveTenancyOptions: roles and expiry', () => {
  it('refuses a configured role no token context could carry, at start-up', () => {
    const jwt = { secret: SECRET };
    expect(() => resolveTenancyOptions({ jwt, roles: ['agent', 'Sales Rep'] })).toThrow(
      new TenancyConfigurationError(
        'roles: "Sales Rep" is not a usable role name (1-64 letters, digits, "_", "-" or "." starting with a letter)',
      ),
    );
    expect(resolveTenancyOptions({ jwt, roles: ['agent', 'sales.rep-2'] }).roles).toEqual([
      'agent',
      'sales.rep-2',
    ]);
  });

  it('requires an exp claim unless told otherwise', () => {
    const roles = ['agent'];
    expect(resolveTenancyOptions({ jwt: { secret: SECRET }, roles }).jwt!.requireExpiry).toBe(true);
    expect(
      resolveTenancyOptions({ jwt: { secret: SECRET, requireExpiry: false }, roles }).jwt!
        .requireExpiry,
    ).toBe(false);
  });
});

describe('resolveTenancyOptions: requestRoleFunction', () => {
  const base = { jwt: { secret: SECRET }, roles: ['agent'] };

  it('takes a schema-qualified lower-case function name, and none by default', () => {
    expect(resolveTenancyOptions(base).requestRoleFunction).toBeUndefined();
    expect(
      resolveTenancyOptions({ ...base, requestRoleFunction: 'sales.request_role' })
        .requestRoleFunction,
    ).toBe('sales.request_role');
  });

  it.each(['request_role', 'Sales.request_role', 'sales.request_role()', 'a.b.c', 'sales."x"'])(
    'refuses %s at start-up: it is written into SQL, so it must be a plain schema.name',
    (name) => {
      expect(() => resolveTenancyOptions({ ...base, requestRoleFunction: name })).toThrow(
        TenancyConfigurationError,
      );
    },
  );
});

/** For each field of `T`: `true` when its type says it is always set, `false` when it may be unset. */
type AlwaysSet<T> = { [K in keyof T]-?: object extends Pick<T, K> ? false : true };

/** The fields `shape` says are always set but `value` leaves `undefined`. */
function unsetButPromised<T extends object>(value: T, shape: AlwaysSet<T>): string[] {
  return Object.entries(shape)
    .filter(([field, set]) => set && value[field as keyof T] === undefined)
    .map(([field]) => field);
}

describe('resolveTenancyOptions: defaults', () => {
  const minimal = resolveTenancyOptions({ jwt: { secret: SECRET }, roles: ['agent'] });

  it('sets every field the merged types promise, from a literal with only the required ones', () => {
    const module: AlwaysSet<ResolvedTenancyOptions> = {
      jwt: true,
      resolveTenantContext: false,
      roles: true,
      claims: true,
      settings: true,
      tenantStatus: true,
      dataSourceName: true,
      startupCheck: true,
      catalogCheck: true,
      platform: false,
      rlsViolationStatus: true,
      preparedSettings: true,
      pgWriteBatching: true,
      requestRoleFunction: false,
      contextStatement: true,
      replicas: true,
    };
    const jwt: AlwaysSet<ResolvedTenancyOptions['jwt']> = {
      secret: false,
      publicKey: false,
      algorithms: true,
      issuer: false,
      audience: false,
      clockToleranceSeconds: true,
      requireExpiry: true,
      maxTokenLength: true,
      key: true,
    };
    const tenantStatus: AlwaysSet<ResolvedTenancyOptions['tenantStatus']> = {
      cacheTtlMs: true,
      maxEntries: true,
      lookup: false,
    };
    const replicas: AlwaysSet<ResolvedTenancyOptions['replicas']> = {
      whenUnavailable: true,
      maxLagMs: true,
      healthTtlMs: true,
      readYourWritesMs: true,
      readYourWritesBy: true,
    };
    const claims: AlwaysSet<TenancyClaimNames> = { tenantId: true, userId: true, role: true };
    const settings: AlwaysSet<TenancySettingNames> = {
      tenantId: true,
      userId: true,
      role: true,
      requestId: true,
    };
    expect([
      ...unsetButPromised(minimal, module),
      ...unsetButPromised(minimal.jwt!, jwt).map((f) => `jwt.${f}`),
      ...unsetButPromised(minimal.tenantStatus, tenantStatus).map((f) => `tenantStatus.${f}`),
      ...unsetButPromised(minimal.claims, claims).map((f) => `claims.${f}`),
      ...unsetButPromised(minimal.settings, settings).map((f) => `settings.${f}`),
      ...unsetButPromised(minimal.replicas, replicas).map((f) => `replicas.${f}`),
    ]).toEqual([]);
  });

  it('takes the defaults the option classes declare', () => {
    expect({ ...minimal, jwt: { ...minimal.jwt, key: undefined } }).toEqual({
      jwt: {
        secret: SECRET,
        algorithms: ['HS256'],
        clockToleranceSeconds: 0,
        requireExpiry: true,
        maxTokenLength: 8192,
        key: undefined,
      },
      roles: ['agent'],
      claims: { tenantId: 'tenant_id', userId: 'sub', role: 'role' },
      settings: {
        tenantId: 'app.tenant_id',
        userId: 'app.user_id',
        role: 'app.role',
        requestId: 'app.request_id',
      },
      tenantStatus: { cacheTtlMs: 10_000, maxEntries: 10_000 },
      dataSourceName: 'default',
      startupCheck: 'refuse',
      catalogCheck: {},
      rlsViolationStatus: 403,
      preparedSettings: false,
      pgWriteBatching: false,
      contextStatement: 'set-config',
      replicas: {
        whenUnavailable: 'primary',
        maxLagMs: 5_000,
        healthTtlMs: 1_000,
        readYourWritesMs: 5_000,
        readYourWritesBy: 'user',
      },
    });
  });

  it('merges a partial group over its defaults, and gives a field passed as undefined its default', () => {
    const options = resolveTenancyOptions({
      jwt: { secret: SECRET, requireExpiry: undefined, maxTokenLength: 100 },
      roles: ['agent'],
      claims: { tenantId: 'org' },
      tenantStatus: { cacheTtlMs: undefined, maxEntries: 5 },
      startupCheck: undefined,
    });
    expect([
      options.jwt!.requireExpiry,
      options.jwt!.maxTokenLength,
      options.claims,
      options.tenantStatus,
      options.startupCheck,
    ]).toEqual([
      true,
      100,
      { tenantId: 'org', userId: 'sub', role: 'role' },
      { cacheTtlMs: 10_000, maxEntries: 5 },
      'refuse',
    ]);
  });
});

describe('resolveTenancyOptions: jwt and resolveTenantContext', () => {
  const resolver = () => undefined;

  it('needs no jwt when resolveTenantContext authenticates requests', () => {
    expect(resolveTenancyOptions({ roles: ['agent'], resolveTenantContext: resolver }).jwt).toBe(
      undefined,
    );
  });

  it('still checks a jwt given beside resolveTenantContext', () => {
    expect(() =>
      resolveTenancyOptions({
        jwt: { secret: 'short' },
        roles: ['agent'],
        resolveTenantContext: resolver,
      }),
    ).toThrow(new TenancyConfigurationError('jwt.secret must be at least 32 characters long'));
  });

  it('refuses neither, naming both ways', () => {
    expect(() => resolveTenancyOptions({ roles: ['agent'] })).toThrow(
      /needs jwt\.secret \(HS256\) or jwt\.publicKey \(RS256\) to verify tokens, or resolveTenantContext/,
    );
  });
});

describe('resolveTenancyOptions: contextStatement and replicas', () => {
  const jwt = { secret: SECRET };
  const roles = ['agent'];

  it("refuses an unknown contextStatement, and preparedSettings with 'set-local'", () => {
    expect(() =>
      resolveTenancyOptions({ jwt, roles, contextStatement: 'set' as 'set-local' }),
    ).toThrow(
      new TenancyConfigurationError(
        `contextStatement must be 'set-config' or 'set-local', got "set"`,
      ),
    );
    expect(() =>
      resolveTenancyOptions({ jwt, roles, contextStatement: 'set-local', preparedSettings: true }),
    ).toThrow(/preparedSettings prepares the one set_config\(\) statement/);
    expect(
      resolveTenancyOptions({ jwt, roles, contextStatement: 'set-local' }).contextStatement,
    ).toBe('set-local');
  });

  it('merges replicas field by field and refuses unusable values', () => {
    expect(
      resolveTenancyOptions({
        jwt,
        roles,
        replicas: { whenUnavailable: 'fail', maxLagMs: undefined },
      }).replicas,
    ).toEqual({
      whenUnavailable: 'fail',
      maxLagMs: 5_000,
      healthTtlMs: 1_000,
      readYourWritesMs: 5_000,
      readYourWritesBy: 'user',
    });
    expect(() =>
      resolveTenancyOptions({ jwt, roles, replicas: { whenUnavailable: 'retry' as 'fail' } }),
    ).toThrow(/replicas.whenUnavailable must be 'primary' or 'fail', got "retry"/);
    expect(() =>
      resolveTenancyOptions({ jwt, roles, replicas: { readYourWritesBy: 'team' as 'user' } }),
    ).toThrow(/replicas.readYourWritesBy must be 'user' or 'tenant'/);
    expect(() => resolveTenancyOptions({ jwt, roles, replicas: { maxLagMs: -1 } })).toThrow(
      'replicas.maxLagMs must be a number of milliseconds >= 0, got -1',
    );
    expect(() => resolveTenancyOptions({ jwt, roles, replicas: { healthTtlMs: NaN } })).toThrow(
      'replicas.healthTtlMs must be a number of milliseconds >= 0, got NaN',
    );
  });
});
