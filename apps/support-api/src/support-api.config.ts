import { LoggerService, LogLevel } from '@nestjs/common';
import { SupportJobsConfig } from './sla/sla-queue';
import { SlaSchedule } from './sla/sla-schedule';

/** Everything the support-api needs to run; built from the environment by main.ts, or by tests. */
export interface SupportApiConfig {
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
  /**
   * Connection string of the `tenancy_platform` role (reads the tenant registry only), used by the
   * SLA job to list tenants. Default: none, and the SLA job is not scheduled (a log line says so).
   */
  platformDatabaseUrl?: string;
  /**
   * The SLA job: how often it runs and the age from which open tickets are raised to `high`, or
   * `false` to schedule nothing. Default: every 60 s, tickets open for more than 24 h.
   */
  sla?: Partial<SlaSchedule> | false;
  /**
   * Redis (BullMQ) and the envelope secret of the SLA job's per-tenant escalation jobs. Default:
   * none, and the SLA job is not scheduled (a log line says so).
   */
  jobs?: SupportJobsConfig;
  /**
   * AMQP url of RabbitMQ: when set, the app also consumes inbound emails from
   * `inboundEmailQueue` (a hybrid HTTP + RabbitMQ app) and serves `POST /inbound-emails`.
   * Default: none (HTTP only).
   */
  amqpUrl?: string;
  /** Queue of inbound emails; rejected ones go to `<queue>.dead`. Default: `support.inbound-email`. */
  inboundEmailQueue?: string;
  /** Nest's logger: levels, a logger of your own, or `false` to silence it. Default: Nest's. */
  logger?: LoggerService | LogLevel[] | false;
}

/** The roles support-api tokens may carry. */
export const SUPPORT_ROLES = ['agent', 'admin'];
