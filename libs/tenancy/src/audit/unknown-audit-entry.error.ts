import { TenancyError } from '../errors/tenancy.error';

/**
 * Thrown by {@link AuditLogService.list} when `after` names no entry the caller can read: no such
 * id, another tenant's entry, or one the caller's role may not read.
 */
export class UnknownAuditEntryError extends TenancyError {
  constructor(readonly entryId: string) {
    super(
      `no audit entry "${entryId}" in the current tenant's log: pass the id of an entry it listed`,
    );
  }
}
