import type { KeyObject } from 'node:crypto';
import type { Algorithm } from 'jsonwebtoken';
import type { ClsModuleOptions } from 'nestjs-cls';
import type { CatalogCheckOptions } from './catalog/catalog-check';
import type { TenancySettingNames } from './tenancy.constants';

/** A tenant's registry status; `undefined` from a lookup means the tenant does not exist. */
export type TenantStatus = 'active' | 'suspended';

/** How tokens are verified. Tokens whose algorithm is not listed (including `none`) are refused. */
export interface TenancyJwtOptions {
  /** Shared secret for HMAC algorithms. Default: none (one of `secret` or `publicKey` is required). */
  secret?: string;
  /** PEM public key for RSA/ECDSA algorithms. Default: none. */
  publicKey?: string;
  /** Accepted algorithms. Default: `['HS256']` with `secret`, `['RS256']` with `publicKey`. */
  algorithms?: Algorithm[];
  /** Required `iss` claim. Default: not checked. */
  issuer?: string;
  /** Required `aud` claim. Default: not checked. */
  audience?: string;
  /** Seconds of clock skew tolerated for `exp` and `nbf`. Default: `0`. */
  clockToleranceSeconds?: number;
  /**
   * Refuse tokens without an `exp` claim (401): such a token never expires, and a leaked one stays
   * valid until the key changes. Set `false` only for issuers you control that cannot set one.
   * Default: `true`.
   */
  requireExpiry?: boolean;
  /** Longest accepted Authorization header, in characters. Default: `8192`. */
  maxTokenLength?: number;
}

/** Names of the token claims that carry the context. */
export interface TenancyClaimNames {
  /** Claim holding the tenant uuid. Default: `tenant_id`. */
  tenantId: string;
  /** Claim holding the user uuid. Default: `sub`. */
  userId: string;
  /** Claim holding the role. Default: `role`. */
  role: string;
}

/** How the tenant's registry status is checked on each authenticated request. */
export interface TenantStatusOptions {
  /**
   * How long a looked-up status is trusted, in milliseconds: the longest a suspension takes to
   * reach requests. Default: `10000`.
   */
  cacheTtlMs?: number;
  /** Most tenants kept in the cache; the oldest entry is evicted first. Default: `10000`. */
  maxEntries?: number;
  /**
   * Custom lookup; return `undefined` for an unknown tenant. Default: reads `status` from
   * `tenancy.tenants` inside the tenant's own context (one query per cache miss).
   */
  lookup?: (tenantId: string) => Promise<TenantStatus | undefined>;
}

/** Options of `TenancyModule.forRoot()` / `forRootAsync()`. */
export interface TenancyModuleOptions {
  /** Token verification. Required. */
  jwt: TenancyJwtOptions;
  /** Roles a token may carry; any other role is refused with 403. Required. */
  roles: string[];
  /** Claim names. Default: `{ tenantId: 'tenant_id', userId: 'sub', role: 'role' }`. */
  claims?: Partial<TenancyClaimNames>;
  /** PostgreSQL setting names. Default: `{ tenantId: 'app.tenant_id', userId: 'app.user_id', role: 'app.role' }`. */
  settings?: Partial<TenancySettingNames>;
  /** Tenant status check. Default: see {@link TenantStatusOptions}. */
  tenantStatus?: TenantStatusOptions;
  /** The TypeOrmModule connection the apps query through. Default: the default connection. */
  dataSourceName?: string;
  /**
   * What happens when the app connects as a superuser, a BYPASSRLS role, or the owner of a tenant
   * table, or the catalog check fails: `'refuse'` throws at start-up; `'warn'` only logs and is
   * DANGEROUS (isolation then rests on that role's goodwill). Default: `'refuse'`.
   */
  startupCheck?: 'refuse' | 'warn';
  /** Catalog check at start-up (its `appRole` is the connection's own role), or `false` to run only the role checks. Default: `{}`. */
  catalogCheck?: false | Omit<CatalogCheckOptions, 'appRole'>;
  /** Cross-tenant work: the TypeOrmModule connection `runAsPlatform()` uses. Default: none (runAsPlatform throws). */
  platform?: { dataSourceName: string };
  /**
   * HTTP status for a write refused by a policy's WITH CHECK (SQLSTATE 42501). Default: `403`.
   * Reads of another tenant's rows never error: they find nothing, and apps answer 404.
   */
  rlsViolationStatus?: 403 | 404;
  /**
   * On pipelined connections (`extra: { pipeline: true }`), send the settings statement as a named
   * prepared statement (`tenancy_settings`): PostgreSQL parses and plans it once per connection
   * instead of once per transaction. Leave it off behind PgBouncer in transaction mode older than
   * 1.21 (or without `max_prepared_statements`): the next transaction may run on a server
   * connection that never saw the statement, and fails ("prepared statement does not exist").
   * Default: `false`.
   */
  preparedSettings?: boolean;
  /**
   * On pipelined connections, hold pg's socket writes until the next tick so that BEGIN, the
   * settings and the first query leave in one write (and a read-only COMMIT nobody waits for leaves
   * with the connection's next flight). Relies on pg internals (the client's socket, reached as
   * `client.connection.stream`), which is why it is opt-in and lives in one module
   * (`pg-write-batching.ts`), tested on the pg versions the library supports; isolation never
   * depends on it. Default: `false`.
   */
  pgWriteBatching?: boolean;
  /**
   * A SQL function (`schema.name`, lower case, no arguments, returning text) that names the
   * PostgreSQL role each tenant transaction runs as: the settings statement calls it right after
   * writing the settings (it may read them, and tables under their policies) and applies its result
   * with `SET LOCAL ROLE` semantics (`set_config('role', ..., true)`: it ends with the transaction).
   * `'none'` or NULL keeps the connection's own role. With it, policies can be written `TO` a role
   * instead of testing the role setting row by row, and the app can give a request the policy that
   * fits it (sales-api gives managers of large and small teams different ones). The connection's
   * role must be a member of every role it returns (or the request fails: fail closed), and the
   * start-up check refuses any role it can become that is a superuser, has BYPASSRLS or owns a
   * tenant table. Default: none (the transaction runs as the connection's role).
   */
  requestRoleFunction?: string;
}

/** Module-definition extras: how nestjs-cls is registered. */
export interface TenancyModuleExtras {
  /**
   * Options for the `ClsModule.forRoot()` the module registers (middleware mounted for every
   * route), e.g. `{ plugins: [new ClsPluginTransactional(...)] }`; `false` when the app registers
   * ClsModule itself (it must mount the middleware, guard or interceptor). Default: `{}`.
   */
  cls?: ClsModuleOptions | false;
}

/** Options after defaults are merged (once, in `resolveTenancyOptions`). */
export interface ResolvedTenancyOptions {
  jwt: Required<
    Pick<
      TenancyJwtOptions,
      'algorithms' | 'clockToleranceSeconds' | 'maxTokenLength' | 'requireExpiry'
    >
  > &
    TenancyJwtOptions & {
      /**
       * The verification key, built once at start-up: a secret KeyObject from `secret`, a public
       * KeyObject from `publicKey`. (Given a string, jsonwebtoken would try to parse it as a public
       * key and catch the failure on every request.)
       */
      key: KeyObject;
    };
  roles: readonly string[];
  claims: TenancyClaimNames;
  settings: TenancySettingNames;
  tenantStatus: Required<Pick<TenantStatusOptions, 'cacheTtlMs' | 'maxEntries'>> &
    TenantStatusOptions;
  dataSourceName?: string;
  startupCheck: 'refuse' | 'warn';
  catalogCheck: false | Omit<CatalogCheckOptions, 'appRole'>;
  platform?: { dataSourceName: string };
  rlsViolationStatus: 403 | 404;
  preparedSettings: boolean;
  pgWriteBatching: boolean;
  requestRoleFunction?: string;
}
