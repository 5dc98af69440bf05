import { Injectable } from '@nestjs/common';
import { TenantContextService } from '../context/tenant-context.service';
import { TenancyRuntime } from '../tenancy.runtime';

/** One audit entry, as `tenancy.audit_log` records it. */
export interface AuditEntry {
  /** The entry's id within the tenant (a bigint, as a decimal string), increasing with each write. */
  id: string;
  /** When the row was written (ISO 8601, the statement's clock time). */
  occurredAt: string;
  /** The user setting of the writing transaction (the token's `sub`); null outside a request. */
  actorId: string | null;
  /** The role setting of the writing transaction. */
  actorRole: string | null;
  /** The request id setting (`x-request-id`, or generated). */
  requestId: string | null;
  /** `schema.table` of the written row. */
  table: string;
  /** The row's primary key without the tenant column, e.g. `{ "id": "…" }`. */
  key: Record<string, unknown>;
  /** What was done to the row. */
  action: 'INSERT' | 'UPDATE' | 'DELETE';
  /** Changed columns with old and new values (every column for INSERT and DELETE). */
  changes: Record<string, { old: unknown; new: unknown }>;
}

/** Filters of {@link AuditLogService.list}. */
export interface AuditQuery {
  /** `schema.table`. Default: every table. */
  table?: string;
  /** Entries at or after this time. Default: all. */
  since?: Date;
  /** Most entries returned, 1 to 1000. Default: 100. */
  limit?: number;
}

/**
 * Reads the current tenant's audit trail (oldest first). RLS scopes it like every other query: a
 * tenant can never read another tenant's entries, and with `readerRoles` (createAuditLog,
 * setAuditLogReaders) other roles read none; routes restrict it too, with @Roles('admin').
 */
@Injectable()
export class AuditLogService {
  constructor(
    private readonly runtime: TenancyRuntime,
    private readonly context: TenantContextService,
  ) {}

  /**
   * The current tenant's entries matching `query`, oldest first (within the caller's tenant
   * transaction; the audit log's policy decides which roles read any).
   */
  async list(query: AuditQuery = {}): Promise<AuditEntry[]> {
    this.context.require();
    const limit = Math.min(Math.max(Math.trunc(query.limit ?? 100), 1), 1000);
    const rows: (Omit<AuditEntry, 'occurredAt'> & { occurredAt: Date })[] =
      await this.runtime.dataSource.query(
        `SELECT id::text AS id, occurred_at AS "occurredAt", actor_id AS "actorId", actor_role AS "actorRole",
              request_id AS "requestId", table_name AS "table", row_key AS "key", action, changes
         FROM tenancy.audit_log
        WHERE ($1::text IS NULL OR table_name = $1) AND ($2::timestamptz IS NULL OR occurred_at >= $2)
        ORDER BY audit_log.id
        LIMIT $3`,
        [query.table ?? null, query.since ?? null, limit],
      );
    return rows.map((r) => ({ ...r, occurredAt: new Date(r.occurredAt).toISOString() }));
  }
}
