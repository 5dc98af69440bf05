import type { CatalogFindingCode } from '../index';

/**
 * How much a finding matters: `leak` means one tenant (or a connection without a tenant) could
 * read or write another tenant's rows, or the catalog allows it; `error` means the kit could not
 * check what it was asked to check; `incomplete` means a table was only partly probed because a
 * tenant has no row in it (seed one); `info` means a probe was skipped (the role may not write the
 * table) or could not decide, and why. {@link expectTenantIsolation} fails on `leak`, `error` and,
 * unless `allowIncomplete` is set, `incomplete`.
 */
export type IsolationSeverity = 'leak' | 'error' | 'incomplete' | 'info';

/** What a dynamic probe of {@link checkTenantIsolation} can find (catalog findings keep their own codes). */
export type IsolationProbeCode =
  | 'CROSS_TENANT_READ'
  | 'CROSS_TENANT_INSERT'
  | 'CROSS_TENANT_UPDATE'
  | 'CROSS_TENANT_DELETE'
  | 'CROSS_TENANT_MOVE'
  | 'CROSS_TENANT_UPSERT'
  | 'CONTEXTLESS_READ'
  | 'CONTEXTLESS_WRITE'
  | 'SHARED_ROW_WRITE'
  | 'KIT_ROLE_BYPASSES_RLS'
  | 'NO_TENANT_TABLES'
  | 'PROBE_FAILED'
  | 'NO_TENANT_DATA'
  | 'PROBE_SKIPPED';

/** Every code a finding of {@link checkTenantIsolation} can carry: a probe's or the catalog check's. */
export type IsolationFindingCode = IsolationProbeCode | CatalogFindingCode;

/** One result of {@link checkTenantIsolation}. */
export interface IsolationFinding {
  /** Which rule or probe it is about (stable, for code that filters findings). */
  code: IsolationFindingCode;
  /** Whether it is a leak, a check that could not run, or information. */
  severity: IsolationSeverity;
  /** `schema.table` the finding is about, when it is about one. */
  table?: string;
  /** What was found and how to fix it. */
  message: string;
}

/** The severity of each probe code; catalog findings are all `leak`. */
export const PROBE_SEVERITY: Readonly<Record<IsolationProbeCode, IsolationSeverity>> = {
  CROSS_TENANT_READ: 'leak',
  CROSS_TENANT_INSERT: 'leak',
  CROSS_TENANT_UPDATE: 'leak',
  CROSS_TENANT_DELETE: 'leak',
  CROSS_TENANT_MOVE: 'leak',
  CROSS_TENANT_UPSERT: 'leak',
  CONTEXTLESS_READ: 'leak',
  CONTEXTLESS_WRITE: 'leak',
  SHARED_ROW_WRITE: 'leak',
  KIT_ROLE_BYPASSES_RLS: 'error',
  NO_TENANT_TABLES: 'error',
  PROBE_FAILED: 'error',
  NO_TENANT_DATA: 'incomplete',
  PROBE_SKIPPED: 'info',
};

/** A probe's finding, with the severity its code has. */
export function probeFinding(
  code: IsolationProbeCode,
  table: string | undefined,
  message: string,
): IsolationFinding {
  return table === undefined
    ? { code, severity: PROBE_SEVERITY[code], message }
    : { code, severity: PROBE_SEVERITY[code], table, message };
}
