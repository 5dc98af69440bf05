import { Injectable } from '@nestjs/common';
import { TenantContextService } from '../context/tenant-context.service';
import { TenantTransactionFactory } from '../typeorm/tenant-transaction.factory';
import { UnknownAuditEntryError } from './unknown-audit-entry.error';

/** One audit entry, as `tenancy.audit_log` records it. */
export interface AuditEntry {
  /**
   * The entry's id: a random uuid when the log's entry ids are opaque (`createAuditLog`'s
   * `entryIds`), else a bigint from the log's shared identity, as a decimal string.
   */
  id: string;
  /** When the row was written (ISO 8601, the clock time; entries are ordered by it, then by id). */
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
  /** Only entries after this one (the `id` of the last entry of the previous page). Default: from the first. */
  after?: string;
  /** Most entries returned, 1 to 1000. Default: 100. */
  limit?: number;
}

const COLUMNS = `e.id::text AS id, e.occurred_at AS "occurredAt", e.actor_id AS "actorId",
  e.actor_role AS "actorRole", e.request_id AS "requestId", e.table_name AS "table",
  e.row_key AS "key", e.action, e.changes`;

const AFTER_ENTRY = `AND (e.occurred_at, e.id) > (SELECT c.occurred_at, c.id FROM tenancy.audit_log c WHERE c.id = $4)`;

/**
 * Reads the current tenant's audit trail (oldest first). RLS scopes it like every other query: a
 * tenant can never read another tenant's entries, and with `readerRoles` (createAuditLog,
 * setAuditLogReaders) other roles read none; routes restrict it too, with @Roles('admin').
 */
@Injectable()
export class AuditLogService {
  constructor(
    private readonly transactions: TenantTransactionFactory,
    private readonly context: TenantContextService,
  ) {}

  /**
   * The current tenant's entries matching `query`, oldest first by `(occurred_at, id)`, after the
   * entry `query.after` when given (within the caller's tenant transaction; the audit log's policy
   * decides which roles read any). Throws {@link UnknownAuditEntryError} when `after` names no
   * entry the caller can read.
   */
  async list(query: AuditQuery = {}): Promise<AuditEntry[]> {
    this.context.require();
    const limit = Math.min(Math.max(Math.trunc(query.limit ?? 100), 1), 1000);
    const db = this.transactions.dataSource;
    const after = query.after === undefined ? [] : [query.after];
    const rows: (Omit<AuditEntry, 'occurredAt'> & { occurredAt: Date })[] = await db.query(
      `SELECT ${COLUMNS} FROM tenancy.audit_log e
        WHERE ($1::text IS NULL OR e.table_name = $1) AND ($2::timestamptz IS NULL OR e.occurred_at >= $2)
              ${after.length ? AFTER_ENTRY : ''}
        ORDER BY e.occurred_at, e.id
        LIMIT $3`,
      [query.table ?? null, query.since ?? null, limit, ...after],
    );
    if (!rows.length && after.length) {
      const found = await db.query(`SELECT 1 FROM tenancy.audit_log WHERE id = $1`, after);
      if (!found.length) throw new UnknownAuditEntryError(after[0]);
    }
    return rows.map((r) => ({ ...r, occurredAt: new Date(r.occurredAt).toISOString() }));
  }
}
