import {
  DEFAULT_APP_ROLE,
  DEFAULT_SETTING_NAMES,
  DEFAULT_TENANT_COLUMN,
  TenancySettingNames,
} from '../tenancy.constants';
import { isRoleName, ROLE_FORM } from '../context/tenant-context.validation';
import { TenancyConfigurationError } from '../errors/tenancy.error';
import { enableTenantRls } from './rls.migration-helpers';
import { currentRoleExpression, currentTenantWhenExpression } from './setting-expression';
import {
  qualifiedTable,
  quoteIdent,
  rowsOf,
  settingLiteral,
  SqlExecutor,
  withAppRole,
} from './sql';

/**
 * How `tenancy.audit_log` identifies its entries.
 * - `'opaque'`: each entry's `id` is a random uuid and entries are ordered by `(occurred_at, id)`;
 *   `occurred_at` comes from `tenancy.audit_clock()`, which moves a time that would repeat or go back
 *   within a transaction to one microsecond past the transaction's last entry (it keeps that time
 *   in the transaction-local setting `tenancy.audit_clock` and ignores a value more than a second
 *   ahead, which any role could have set). The app role reads every column but `transaction_id`
 *   (a server-wide counter). No value a tenant reads counts other tenants' writes.
 * - `'sequence'`: `id` is a bigint from one identity shared by every tenant, the shape of earlier
 *   versions: a tenant paging its own entries sees gaps that count every other tenant's audited writes.
 */
export type AuditEntryIds = 'opaque' | 'sequence';

/** Options of {@link createAuditLog}. */
export interface AuditLogOptions {
  /** Role the application logs in as; it may only read its tenant's entries. Default: `app_user`. */
  appRole?: string;
  /** Setting names the trigger reads for actor, role and request id. Default: the library's. */
  settings?: Partial<TenancySettingNames>;
  /**
   * Roles (the role setting) that may read their tenant's entries; the policy refuses every other
   * role, whatever route or query asks. Entries hold the old and new values of every audited row,
   * including rows a role may not read in its own table, so name the roles that may see them all.
   * Default: every role of the tenant (then only the app's routes restrict reading).
   */
  readerRoles?: string[];
  /**
   * How entries are identified (see {@link AuditEntryIds}). A migration written against an earlier
   * version of this library (whose only shape was `'sequence'`) must pass `'sequence'` to replay
   * unchanged, then convert the log with {@link setAuditEntryIds} in a later migration.
   * Default: `'opaque'`.
   */
  entryIds?: AuditEntryIds;
}

/** Options of {@link setAuditEntryIds}. */
export interface AuditEntryIdsOptions {
  /** Role the application logs in as (its read grant changes with the ids). Default: `app_user`. */
  appRole?: string;
}

/** Options of {@link enableAuditTrail}. */
export interface AuditTrailOptions {
  /** Columns left out of `changes` (e.g. a generated search vector). Default: none. */
  exclude?: string[];
  /** Column holding the tenant id. Default: `tenant_id`. */
  tenantColumn?: string;
}

/**
 * Creates `tenancy.audit_log` (tenant-owned, RLS enabled and forced, SELECT only for the app role:
 * append-only, written solely by the trigger) and the trigger function `tenancy.audit_row()`
 * (SECURITY DEFINER, fixed search_path). Each entry: tenant, actor (user setting), role, request id,
 * table, primary key, action, changed columns with old and new values, time and transaction id.
 * Rows without a tenant (shared reference rows) are not audited. Entry ids say nothing about other
 * tenants unless `entryIds: 'sequence'` is passed (see {@link AuditEntryIds}). Reverse with {@link dropAuditLog}.
 */
export async function createAuditLog(
  db: SqlExecutor,
  options: AuditLogOptions = {},
): Promise<void> {
  const s = { ...DEFAULT_SETTING_NAMES, ...options.settings };
  await db.query(`
    CREATE TABLE tenancy.audit_log (
      tenant_id uuid NOT NULL REFERENCES tenancy.tenants (id),
      id bigint GENERATED ALWAYS AS IDENTITY,
      occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      transaction_id bigint NOT NULL DEFAULT txid_current(),
      actor_id uuid,
      actor_role text,
      request_id text,
      table_name text NOT NULL,
      row_key jsonb NOT NULL,
      action text NOT NULL CHECK (action IN ('INSERT', 'UPDATE', 'DELETE')),
      changes jsonb NOT NULL,
      PRIMARY KEY (tenant_id, id))`);
  await db.query(
    `CREATE INDEX audit_log_table_idx ON tenancy.audit_log (tenant_id, table_name, occurred_at)`,
  );
  await enableTenantRls(db, 'tenancy.audit_log', {
    appRole: options.appRole ?? DEFAULT_APP_ROLE,
    tenantSetting: s.tenantId,
    privileges: ['SELECT'],
  });
  if (options.readerRoles) await setAuditLogReaders(db, options.readerRoles, options.settings);
  await db.query(`
    CREATE FUNCTION tenancy.audit_row() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    DECLARE
      old_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
      new_row jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
      row_data jsonb := coalesce(new_row, old_row);
      tenant_column text := TG_ARGV[0];
      key_columns text[] := string_to_array(TG_ARGV[1], ',');
      skipped text[] := coalesce(string_to_array(NULLIF(TG_ARGV[2], ''), ','), '{}');
      changed jsonb := '{}';
      k text;
    BEGIN
      IF row_data ->> tenant_column IS NULL THEN
        RETURN NULL;
      END IF;
      FOR k IN SELECT jsonb_object_keys(row_data) LOOP
        CONTINUE WHEN k = ANY (skipped) OR k = tenant_column;
        CONTINUE WHEN TG_OP = 'UPDATE' AND (old_row -> k) IS NOT DISTINCT FROM (new_row -> k);
        changed := changed || jsonb_build_object(k, jsonb_build_object('old', old_row -> k, 'new', new_row -> k));
      END LOOP;
      IF TG_OP = 'UPDATE' AND changed = '{}' THEN
        RETURN NULL;
      END IF;
      INSERT INTO tenancy.audit_log (tenant_id, actor_id, actor_role, request_id, table_name, row_key, action, changes)
      VALUES (
        (row_data ->> tenant_column)::uuid,
        NULLIF(current_setting(${settingLiteral(s.userId)}, true), '')::uuid,
        NULLIF(current_setting(${settingLiteral(s.role)}, true), ''),
        NULLIF(current_setting(${settingLiteral(s.requestId)}, true), ''),
        TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME,
        (SELECT coalesce(jsonb_object_agg(c, row_data -> c), '{}') FROM unnest(key_columns) c),
        TG_OP,
        changed);
      RETURN NULL;
    END
    $fn$`);
  await db.query(`REVOKE ALL ON FUNCTION tenancy.audit_row() FROM PUBLIC`);
  if ((options.entryIds ?? 'opaque') === 'opaque') await setAuditEntryIds(db, 'opaque', options);
}

/** Columns of `tenancy.audit_log` the app role reads when entry ids are opaque: all but `transaction_id`. */
const OPAQUE_READABLE_COLUMNS = [
  'tenant_id',
  'id',
  'occurred_at',
  'actor_id',
  'actor_role',
  'request_id',
  'table_name',
  'row_key',
  'action',
  'changes',
];

/**
 * Converts the entry ids of a `tenancy.audit_log` that {@link createAuditLog} made to `ids` (see
 * {@link AuditEntryIds}); a log that has them already is left as it is. Existing entries keep their
 * order: to opaque ids, entries sharing a tenant and a time get uuids in the order of their old ids;
 * to sequence ids, every entry is numbered from 1 in `(occurred_at, id)` order and the identity
 * continues after the last. Run it in a transaction (a migration's): it lifts FORCE ROW LEVEL
 * SECURITY to renumber every tenant's rows and sets it again before it returns.
 */
export async function setAuditEntryIds(
  db: SqlExecutor,
  ids: AuditEntryIds,
  options: AuditEntryIdsOptions = {},
): Promise<void> {
  const role = options.appRole ?? DEFAULT_APP_ROLE;
  await withAppRole(role, () => convertAuditEntryIds(db, ids, quoteIdent(role)));
}

async function convertAuditEntryIds(
  db: SqlExecutor,
  ids: AuditEntryIds,
  appRole: string,
): Promise<void> {
  const [current] = rowsOf<{ type: string }>(
    await db.query(
      `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute
        WHERE attrelid = 'tenancy.audit_log'::regclass AND attname = 'id'`,
    ),
  );
  if ((current?.type === 'uuid') === (ids === 'opaque')) return;
  await db.query(`ALTER TABLE tenancy.audit_log NO FORCE ROW LEVEL SECURITY`);
  await db.query(`ALTER TABLE tenancy.audit_log DROP CONSTRAINT audit_log_pkey`);
  await db.query(`ALTER TABLE tenancy.audit_log RENAME COLUMN id TO previous_id`);
  if (ids === 'opaque') await toOpaqueIds(db, appRole);
  else await toSequenceIds(db, appRole);
  await db.query(`ALTER TABLE tenancy.audit_log DROP COLUMN previous_id`);
  await db.query(`ALTER TABLE tenancy.audit_log ADD PRIMARY KEY (tenant_id, id)`);
  await db.query(`ALTER TABLE tenancy.audit_log FORCE ROW LEVEL SECURITY`);
}

async function toOpaqueIds(db: SqlExecutor, appRole: string): Promise<void> {
  await db.query(`
    CREATE FUNCTION tenancy.audit_clock() RETURNS timestamptz
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
    DECLARE
      clock timestamptz := clock_timestamp();
      now_us bigint := (extract(epoch FROM clock) * 1000000)::bigint;
      last text := current_setting('tenancy.audit_clock', true);
    BEGIN
      IF last ~ '^[0-9]{1,18}$' AND last::bigint >= now_us AND last::bigint < now_us + 1000000 THEN
        clock := clock + (last::bigint + 1 - now_us) * interval '1 microsecond';
        now_us := last::bigint + 1;
      END IF;
      PERFORM set_config('tenancy.audit_clock', now_us::text, true);
      RETURN clock;
    END
    $fn$`);
  await db.query(`REVOKE ALL ON FUNCTION tenancy.audit_clock() FROM PUBLIC`);
  await db.query(
    `ALTER TABLE tenancy.audit_log ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid()`,
  );
  await db.query(`
    UPDATE tenancy.audit_log e SET id = ranked.id
      FROM (SELECT old.previous_id, new.id
              FROM (SELECT previous_id, tenant_id, occurred_at, row_number() OVER (
                             PARTITION BY tenant_id, occurred_at ORDER BY previous_id) AS n
                      FROM tenancy.audit_log) old
              JOIN (SELECT id, tenant_id, occurred_at, row_number() OVER (
                             PARTITION BY tenant_id, occurred_at ORDER BY id) AS n
                      FROM tenancy.audit_log) new USING (tenant_id, occurred_at, n)) ranked
     WHERE e.previous_id = ranked.previous_id AND e.id <> ranked.id`);
  await db.query(
    `ALTER TABLE tenancy.audit_log ALTER COLUMN occurred_at SET DEFAULT tenancy.audit_clock()`,
  );
  await db.query(`DROP INDEX tenancy.audit_log_table_idx`);
  await db.query(
    `CREATE INDEX audit_log_table_idx ON tenancy.audit_log (tenant_id, table_name, occurred_at, id)`,
  );
  await db.query(
    `CREATE INDEX audit_log_time_idx ON tenancy.audit_log (tenant_id, occurred_at, id)`,
  );
  await db.query(`REVOKE SELECT ON tenancy.audit_log FROM ${appRole}`);
  await db.query(
    `GRANT SELECT (${OPAQUE_READABLE_COLUMNS.join(', ')}) ON tenancy.audit_log TO ${appRole}`,
  );
}

async function toSequenceIds(db: SqlExecutor, appRole: string): Promise<void> {
  await db.query(`REVOKE SELECT ON tenancy.audit_log FROM ${appRole}`);
  await db.query(`GRANT SELECT ON tenancy.audit_log TO ${appRole}`);
  await db.query(`DROP INDEX tenancy.audit_log_time_idx`);
  await db.query(`DROP INDEX tenancy.audit_log_table_idx`);
  await db.query(
    `CREATE INDEX audit_log_table_idx ON tenancy.audit_log (tenant_id, table_name, occurred_at)`,
  );
  await db.query(
    `ALTER TABLE tenancy.audit_log ALTER COLUMN occurred_at SET DEFAULT clock_timestamp()`,
  );
  await db.query(`DROP FUNCTION tenancy.audit_clock()`);
  await db.query(`ALTER TABLE tenancy.audit_log ADD COLUMN id bigint`);
  await db.query(`
    UPDATE tenancy.audit_log e SET id = numbered.n
      FROM (SELECT tenant_id, previous_id, row_number() OVER (ORDER BY occurred_at, previous_id) AS n
              FROM tenancy.audit_log) numbered
     WHERE (e.tenant_id, e.previous_id) = (numbered.tenant_id, numbered.previous_id)`);
  await db.query(`ALTER TABLE tenancy.audit_log ALTER COLUMN id SET NOT NULL`);
  await db.query(`ALTER TABLE tenancy.audit_log ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY`);
  await db.query(
    `SELECT setval(pg_get_serial_sequence('tenancy.audit_log', 'id'), coalesce(max(id), 0) + 1, false)
       FROM tenancy.audit_log`,
  );
}

/**
 * Sets which roles read `tenancy.audit_log` (see {@link AuditLogOptions.readerRoles}) on an audit log
 * {@link createAuditLog} made: `undefined` lets every role of the tenant read it again. Inside the
 * tenant, the trigger (as the owner) still inserts and the owner or platform still deletes (a
 * tenant's deletion); nobody updates an entry once readers are set. The tenant guard stays.
 */
export async function setAuditLogReaders(
  db: SqlExecutor,
  readerRoles: string[] | undefined,
  settings: Partial<TenancySettingNames> = {},
): Promise<void> {
  const s = { ...DEFAULT_SETTING_NAMES, ...settings };
  for (const policy of ['tenant_allow', 'audit_read', 'audit_insert', 'audit_delete']) {
    await db.query(`DROP POLICY IF EXISTS ${policy} ON tenancy.audit_log`);
  }
  if (readerRoles === undefined) {
    await db.query(
      `CREATE POLICY tenant_allow ON tenancy.audit_log AS PERMISSIVE FOR ALL TO PUBLIC USING (true) WITH CHECK (true)`,
    );
    return;
  }
  const bad = readerRoles.find((role) => !isRoleName(role));
  if (!readerRoles.length || bad !== undefined) {
    throw new TenancyConfigurationError(
      `readerRoles must list roles of ${ROLE_FORM}${bad === undefined ? '' : `: ${JSON.stringify(bad)} is not one`}`,
    );
  }
  const readers = `${currentRoleExpression(s.role)} IN (${readerRoles.map((r) => `'${r}'`).join(', ')})`;
  await db.query(
    `CREATE POLICY audit_read ON tenancy.audit_log AS PERMISSIVE FOR SELECT TO PUBLIC
       USING (tenant_id = ${currentTenantWhenExpression(readers, s.tenantId)})`,
  );
  await db.query(
    `CREATE POLICY audit_insert ON tenancy.audit_log AS PERMISSIVE FOR INSERT TO PUBLIC WITH CHECK (true)`,
  );
  await db.query(
    `CREATE POLICY audit_delete ON tenancy.audit_log AS PERMISSIVE FOR DELETE TO PUBLIC USING (true)`,
  );
}

/** Reverses {@link createAuditLog} (drop every audit trigger first, with {@link disableAuditTrail}). */
export async function dropAuditLog(db: SqlExecutor): Promise<void> {
  await db.query(`DROP FUNCTION tenancy.audit_row()`);
  await db.query(`DROP TABLE tenancy.audit_log`);
  await db.query(`DROP FUNCTION IF EXISTS tenancy.audit_clock()`);
}

/** The table the audit trail writes into (internal: the Citus profile and helper need its name). */
export const AUDIT_LOG_TABLE = 'tenancy.audit_log';

/**
 * SQL true for a `pg_trigger` row aliased `t` that is the audit trail {@link enableAuditTrail}
 * attaches: `tenancy_audit` running `tenancy.audit_row()` (internal).
 */
export const AUDIT_TRAIL_TRIGGER = `t.tgname = 'tenancy_audit' AND t.tgfoid = to_regprocedure('tenancy.audit_row()')`;

/** SQL for the tenant column an audit trail trigger `t` writes entries under: its first argument. */
export const AUDIT_TRAIL_TENANT_COLUMN = `split_part(encode(t.tgargs, 'escape'), '\\000', 1)`;

/**
 * Attaches the audit trigger to a tenant table: every INSERT, UPDATE and DELETE writes an entry to
 * `tenancy.audit_log` in the same transaction (a rolled-back write leaves no entry). The primary key
 * columns (without the tenant column) are read from the catalog.
 */
export async function enableAuditTrail(
  db: SqlExecutor,
  table: string,
  options: AuditTrailOptions = {},
): Promise<void> {
  const t = qualifiedTable(table);
  const tenantColumn = options.tenantColumn ?? DEFAULT_TENANT_COLUMN;
  const keys = rowsOf<{ name: string }>(
    await db.query(
      `SELECT a.attname AS name
         FROM pg_constraint c CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
        WHERE c.conrelid = $1::regclass AND c.contype = 'p' ORDER BY k.ord`,
      [t.name],
    ),
  )
    .map((r) => r.name)
    .filter((n) => n !== tenantColumn);
  const args = [tenantColumn, keys.join(','), (options.exclude ?? []).join(',')].map((a) => {
    a.split(',').filter(Boolean).forEach(quoteIdent);
    return `'${a}'`;
  });
  await db.query(
    `CREATE TRIGGER tenancy_audit AFTER INSERT OR UPDATE OR DELETE ON ${t.sql}
       FOR EACH ROW EXECUTE FUNCTION tenancy.audit_row(${args.join(', ')})`,
  );
}

/** Removes the audit trigger from a table. */
export async function disableAuditTrail(db: SqlExecutor, table: string): Promise<void> {
  await db.query(`DROP TRIGGER IF EXISTS tenancy_audit ON ${qualifiedTable(table).sql}`);
}
