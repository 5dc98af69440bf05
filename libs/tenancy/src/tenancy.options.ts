import type { KeyObject } from 'node:crypto';
import type { ClsModuleOptions } from 'nestjs-cls';
import type { ExecutionContext } from '@nestjs/common';
import type { TenantClaims } from './auth/tenant-claims.verify';
import type { CatalogCheckOptions } from './catalog/catalog-check';

/**
 * A JWS algorithm a token may be signed with (the names jsonwebtoken accepts, `none` excluded):
 * HMAC with `jwt.secret`, RSA, RSA-PSS or ECDSA with `jwt.publicKey`.
 */
export type TenancyJwtAlgorithm =
  | 'HS256'
  | 'HS384'
  | 'HS512'
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'ES256'
  | 'ES384'
  | 'ES512';

/** A tenant's registry status; `undefined` from a lookup means the tenant does not exist. */
export type TenantStatus = 'active' | 'suspended';

/**
 * How tokens are verified (signature, algorithm, `exp`, `nbf`, and `iss`/`aud` when set); a token
 * that fails is refused with 401, as is one whose algorithm is not listed (`none` among them).
 */
export class TenancyJwtOptions {
  /**
   * Shared secret for HMAC algorithms, at least 32 characters; its UTF-8 bytes are the key. Takes
   * precedence over `publicKey`. Default: none (one of `secret` or `publicKey` is required).
   */
  secret?: string;
  /**
   * PEM public key for RSA/ECDSA algorithms, parsed once at start-up (a value that is not a public
   * key is refused then). Ignored when `secret` is set. Default: none.
   */
  publicKey?: string;
  /**
   * Accepted algorithms; an empty list or `none` is refused at start-up. An ECDSA `publicKey` needs
   * its own (e.g. `['ES256']`). Default: `['HS256']` with `secret`, `['RS256']` with `publicKey`.
   */
  algorithms?: TenancyJwtAlgorithm[];
  /** Required `iss` claim. Default: not checked. */
  issuer?: string;
  /** Required `aud` claim. Default: not checked. */
  audience?: string;
  /** Seconds of clock skew tolerated for `exp`, `nbf` and an `iat` in the future. Default: `0`. */
  clockToleranceSeconds?: number = 0;
  /**
   * Refuse tokens without an `exp` claim (401): such a token never expires, and a leaked one stays
   * valid until the key changes. Set `false` only for issuers you control that cannot set one.
   * Default: `true`.
   */
  requireExpiry?: boolean = true;
  /**
   * Longest accepted Authorization header (`Bearer ` included), in characters; a longer one is
   * refused with 401 before it is parsed. Default: `8192`.
   */
  maxTokenLength?: number = 8192;
}

/** Names of the token claims that carry the context; pass the ones you change (`Partial`). */
export class TenancyClaimNames {
  /** Claim holding the tenant uuid (401 when it is not one). Default: `tenant_id`. */
  tenantId = 'tenant_id';
  /** Claim holding the user uuid (401 when it is not one). Default: `sub`. */
  userId = 'sub';
  /** Claim holding the role (401 when not a string, 403 when not in `roles`). Default: `role`. */
  role = 'role';
}

/**
 * Names of the PostgreSQL settings (GUCs) that carry the request context into a transaction, each
 * `prefix.name` in lower case (checked at start-up); pass the ones you change (`Partial`).
 */
export class TenancySettingNames {
  /** Setting that holds the tenant id. Default: `app.tenant_id`. */
  tenantId = 'app.tenant_id';
  /** Setting that holds the acting user id. Default: `app.user_id`. */
  userId = 'app.user_id';
  /** Setting that holds the acting role. Default: `app.role`. */
  role = 'app.role';
  /** Setting that holds the request (or job run) id, for audit rows. Default: `app.request_id`. */
  requestId = 'app.request_id';
}

/**
 * How the tenant's registry status is checked on each authenticated request (and by
 * `TenantStatusService.assertActive()`): an unknown tenant is refused with 401, a suspended one
 * with 403.
 */
export class TenantStatusOptions {
  /**
   * How long a looked-up status (or the absence of the tenant) is trusted, in milliseconds: the
   * longest a suspension takes to reach requests unless `TenantStatusService.invalidate()` is
   * called. Default: `10000`.
   */
  cacheTtlMs?: number = 10_000;
  /** Most tenants cached; the one looked up longest ago is evicted first. Default: `10000`. */
  maxEntries?: number = 10_000;
  /**
   * Custom lookup, called with the lower-case tenant id (concurrent misses share one call); return
   * `undefined` for an unknown tenant. Default: reads `status` from `tenancy.tenants` in a
   * transaction in the tenant's own context, with the role `tenancy-status` (one query per cache
   * miss).
   */
  lookup?: (tenantId: string) => Promise<TenantStatus | undefined>;
}

/**
 * Read replicas: where read-only tenant scopes (`@TenantScoped({ readOnly: true })`, `run(...,
 * { readOnly: true })`) run when the TypeORM data source has `replication: { master, slaves }`.
 * They take a replica connection (TypeORM picks one of the slaves) and write the same settings in
 * a read-only transaction; every other scope runs on the primary. Without `replication`, read-only
 * scopes run on the primary, read-only all the same.
 */
export class TenancyReplicaOptions {
  /**
   * What a read-only scope does when the replicas cannot serve it (one is down, not in recovery,
   * or lags more than `maxLagMs`): `'primary'` runs it on the primary (still read-only); `'fail'`
   * refuses it with `TenantReplicaUnavailableError` (HTTP 503). Default: `'primary'`.
   */
  whenUnavailable?: 'primary' | 'fail' = 'primary';
  /**
   * Most replay lag, in milliseconds, a replica may have and still serve reads (measured as the
   * age of the last replayed transaction while WAL received is not yet replayed). Default: `5000`.
   */
  maxLagMs?: number = 5_000;
  /**
   * How long, in milliseconds, the replicas' last health check (recovery state and lag, one small
   * query per replica) is trusted: a read-only scope after that starts a new check in the
   * background and goes by the last answer (the first scope waits for the first check). A replica
   * that refuses a connection is taken out at once. Default: `1000`.
   */
  healthTtlMs?: number = 1_000;
  /**
   * Read-your-writes: for this long, in milliseconds, after a scope committed a write, the
   * writer's read-only scopes (see `readYourWritesBy`) run on the primary, so that a read right
   * after a write sees it. Remembered in this process only (at most 10,000 writers): behind a load
   * balancer, route a user to one instance or keep it longer than the lag. `0` turns it off.
   * Default: `5000`.
   */
  readYourWritesMs?: number = 5_000;
  /**
   * Whose writes keep read-only scopes on the primary: `'user'` (the same tenant and user) or
   * `'tenant'` (every user of the tenant). Default: `'user'`.
   */
  readYourWritesBy?: 'user' | 'tenant' = 'user';
}

/**
 * Options of `TenancyModule.forRoot()` / `forRootAsync()`: a plain object literal; the fields'
 * initialisers are the defaults, merged once at start-up (`resolveTenancyOptions`).
 */
export class TenancyModuleOptions {
  /**
   * Token verification by the built-in JWT strategy. Required unless `resolveTenantContext` is
   * set; with both, the resolver decides and `jwt` is not used by the guard.
   */
  jwt?: TenancyJwtOptions;
  /**
   * Your own authentication instead of the built-in JWT strategy: called by `TenantAuthGuard` with
   * the request's ExecutionContext (read `request.user` set by your own @nestjs/passport guard, an
   * API key, a GraphQL context, a message), it returns the request's `{ tenantId, userId, role }`.
   * They get the JWT path's checks: uuid tenant and user (401), a role in `roles` (403), a tenant
   * that exists (401) and is active (403). `undefined` or a throw is a 401 (a thrown 401/403
   * HttpException keeps its message). Default: none (the built-in JWT strategy).
   */
  resolveTenantContext?: (
    context: ExecutionContext,
  ) => TenantClaims | undefined | Promise<TenantClaims | undefined>;
  /**
   * Roles a token may carry (each 1-64 letters, digits, `_`, `-` or `.` starting with a letter,
   * checked at start-up); a token with any other role is refused with 403. Required.
   */
  roles: readonly string[];
  /** Claim names. Default: see {@link TenancyClaimNames}. */
  claims?: Partial<TenancyClaimNames>;
  /** PostgreSQL setting names. Default: see {@link TenancySettingNames}. */
  settings?: Partial<TenancySettingNames>;
  /** Tenant status check. Default: see {@link TenantStatusOptions}. */
  tenantStatus?: TenantStatusOptions;
  /** Read replicas for read-only scopes. Default: see {@link TenancyReplicaOptions}. */
  replicas?: TenancyReplicaOptions;
  /**
   * How the context is written at the start of each tenant transaction. `'set-config'`: one
   * `SELECT set_config(...)` statement, every value a bind parameter (one round trip).
   * `'set-local'`: one `SET LOCAL name = 'value'` statement per setting (four round trips, one
   * flight on a pipelined connection), for Citus, which replays `SET LOCAL` on its workers (with
   * `citus.propagate_set_commands = 'local'`) and not `set_config()`. SET takes no parameters:
   * each value is checked first (uuid tenant and user, a role name, a request id of letters,
   * digits and `._:-`; a context that fails sends nothing) and quoted by pg's `escapeLiteral`.
   * Not with `preparedSettings`. Default: `'set-config'`.
   */
  contextStatement?: 'set-config' | 'set-local' = 'set-config';
  /**
   * The TypeOrmModule connection the apps query through; it must be built by
   * `createTenancyDataSource`. Default: `'default'` (TypeORM's default connection).
   */
  dataSourceName?: string = 'default';
  /**
   * What happens when a start-up check fails (the app's connection is a superuser, has BYPASSRLS,
   * owns a tenant table, can create temporary tables, or can SET ROLE to a role that does; the
   * catalog check finds a table that could leak; the `requestRoleFunction` is missing or not
   * callable, or the connection inherits a role policies are written `TO`; with the default
   * `tenantStatus.lookup`, the tenant registry is missing or not readable as that role): `'refuse'`
   * throws at start-up; `'warn'` only logs and is DANGEROUS (isolation then rests on that role's
   * goodwill). Default: `'refuse'`.
   */
  startupCheck?: 'refuse' | 'warn' = 'refuse';
  /**
   * Catalog check at start-up (its `appRole` is the connection's own role), or `false` to keep only
   * the findings about that role (and about `requestRoleFunction`). Default: `{}`.
   */
  catalogCheck?: false | Omit<CatalogCheckOptions, 'appRole'> = {};
  /**
   * Cross-tenant work: the TypeOrmModule connection `runAsPlatform()` uses (another connection than
   * the tenant one). Default: none (runAsPlatform throws).
   */
  platform?: { dataSourceName: string };
  /**
   * HTTP status of SQLSTATE 42501 (insufficient privilege) on a @TenantScoped() route: a write a
   * policy's WITH CHECK refused, or a statement the role has no privilege for. `404` answers
   * `not found`. Default: `403`. Reads of another tenant's rows never error: they find nothing,
   * and apps answer 404.
   */
  rlsViolationStatus?: 403 | 404 = 403;
  /**
   * On pipelined connections (`extra: { pipeline: true }`), send the settings statement as a named
   * prepared statement (`tenancy_settings`): PostgreSQL parses and plans it once per connection
   * instead of once per transaction. Leave it off behind PgBouncer in transaction mode older than
   * 1.21 (or without `max_prepared_statements`): the next transaction may run on a server
   * connection that never saw the statement, and fails ("prepared statement does not exist").
   * Default: `false`.
   */
  preparedSettings?: boolean = false;
  /**
   * On pipelined connections, hold pg's socket writes until the next tick so that BEGIN, the
   * settings and the first query leave in one write (and a read-only COMMIT nobody waits for can
   * leave with the next statements queued on that connection). Relies on pg internals (the
   * client's socket, reached as `client.connection.stream`), which is why it is opt-in and lives in
   * one module (`pg-write-batching.ts`), tested on the pg versions the library supports; isolation
   * never depends on it. Default: `false`.
   */
  pgWriteBatching?: boolean = false;
  /**
   * A SQL function (`schema.name`, lower case, no arguments, returning text) that names the
   * PostgreSQL role each tenant transaction runs as: the settings statement calls it right after
   * writing the settings (it may read them, and tables under their policies) and applies its
   * result with `SET LOCAL ROLE` semantics (`set_config('role', ..., true)`: it ends with the
   * transaction).
   * `'none'` or NULL keeps the connection's own role. With it, policies can be written `TO` a role
   * instead of testing the role setting row by row, and the app can give a request the policy that
   * fits it (e.g. managers of large and small teams get different ones). The connection's role must
   * be a member of every role it returns (or the request fails: fail closed), and must not inherit
   * one that policies are written `TO`; the start-up check refuses any role it can become that is a
   * superuser, has BYPASSRLS, can create temporary tables or owns a tenant table, and a function
   * that is missing, returns another type or may not be executed. Default: none (the transaction
   * runs as the connection's role).
   */
  requestRoleFunction?: string;
}

/** Module-definition extras of `forRoot()` / `forRootAsync()`: how nestjs-cls is registered. */
export class TenancyModuleExtras {
  /**
   * Options for the `ClsModule.forRoot()` the module registers (middleware mounted for every
   * route, with a request id per request: a well-formed `x-request-id` header or a fresh uuid),
   * e.g. `{ plugins: [new ClsPluginTransactional(...)] }`; `false` when the app registers ClsModule
   * itself (it must mount the middleware, guard or interceptor). Default: `{}`.
   */
  cls?: ClsModuleOptions | false = {};
}

/** `T` after the merge: every field is set except those in `Unset`, which have no default. */
type WithDefaults<T, Unset extends keyof T = never> = Required<Omit<T, Unset>> & Pick<T, Unset>;

/** What the merge derives from the JWT options. */
export interface TenancyJwtKey {
  /**
   * The verification key, built once at start-up: a secret KeyObject from `secret`, a public
   * KeyObject from `publicKey`. (Given a string, jsonwebtoken would try to parse it as a public
   * key and catch the failure on every request.)
   */
  key: KeyObject;
}

/** {@link TenancyJwtOptions} after the merge, with the derived key. */
export type ResolvedJwtOptions = WithDefaults<
  TenancyJwtOptions,
  'secret' | 'publicKey' | 'issuer' | 'audience'
> &
  TenancyJwtKey;

/** {@link TenantStatusOptions} after the merge. */
export type ResolvedTenantStatusOptions = WithDefaults<TenantStatusOptions, 'lookup'>;

/** {@link TenancyReplicaOptions} after the merge. */
export type ResolvedReplicaOptions = WithDefaults<TenancyReplicaOptions>;

/** The option groups, merged field by field. */
type OptionGroup = 'jwt' | 'claims' | 'settings' | 'tenantStatus' | 'replicas';

/** {@link TenancyModuleOptions} after `resolveTenancyOptions` merged it: what the library reads. */
export type ResolvedTenancyOptions = WithDefaults<
  Omit<TenancyModuleOptions, OptionGroup>,
  'platform' | 'requestRoleFunction' | 'resolveTenantContext'
> & {
  /** Undefined when `resolveTenantContext` replaces the JWT strategy and no `jwt` was given. */
  jwt: ResolvedJwtOptions | undefined;
  claims: TenancyClaimNames;
  settings: TenancySettingNames;
  tenantStatus: ResolvedTenantStatusOptions;
  replicas: ResolvedReplicaOptions;
};
