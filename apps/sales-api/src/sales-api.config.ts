import { LoggerService, LogLevel } from '@nestjs/common';
/** Everything the sales-api needs to run; built from the environment by main.ts, or by tests. */
export interface SalesApiConfig {
  /** Connection string of the application role (never the owner or a superuser). */
  databaseUrl: string;
  /**
   * Connection strings of read replicas (hot standbys of `databaseUrl`'s server, same roles): the
   * handlers marked `@TenantReadOnly()` read from them while they are healthy. Default: none.
   */
  replicaDatabaseUrls?: string[];
  /** HS256 secret that signs and verifies tokens. */
  jwtSecret: string;
  /** Size of the connection pool. Default: 10. */
  poolSize?: number;
  /** pg pipeline mode: BEGIN, RLS settings and the first query in one flight. Default: true. */
  pipeline?: boolean;
  /**
   * The library's `preparedSettings`: the RLS settings statement parsed once per connection.
   * Default: true (the app talks to PostgreSQL directly); set false behind PgBouncer older than
   * 1.21 in transaction mode.
   */
  preparedSettings?: boolean;
  /**
   * The library's `contextStatement`: `set-local` writes the context with `SET LOCAL` (the form
   * Citus propagates; `preparedSettings` is then off). Default: TENANCY_CONTEXT_STATEMENT, or
   * `set-config`.
   */
  contextStatement?: 'set-config' | 'set-local';
  /** The library's `pgWriteBatching` (one socket write per pipelined flight). Default: `true`. */
  pgWriteBatching?: boolean;
  /** Tenant status cache in ms (how long a suspension takes to apply). Default: the library's (10 s). */
  tenantStatusTtlMs?: number;
  /** Nest's logger: levels, a logger of your own, or `false` to silence it. Default: Nest's. */
  logger?: LoggerService | LogLevel[] | false;
}

/** The roles sales-api tokens may carry. */
export const SALES_ROLES = ['rep', 'manager', 'admin'];
