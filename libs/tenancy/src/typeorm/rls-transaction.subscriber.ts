import { EntitySubscriberInterface, TransactionStartEvent } from 'typeorm';
import { TenantContext } from '../context/tenant-context.interface';
import { TenancySettingNames } from '../tenancy.constants';
import { qualifiedTable } from '../migrations/sql';
import { TenantQueryRunner } from './tenant-query-runner';

const SETTINGS =
  'set_config($1, $2, true), set_config($3, $4, true), set_config($5, $6, true), set_config($7, $8, true)';
const SET_SETTINGS = `SELECT ${SETTINGS}`;

/**
 * The settings statement when a request-role function is configured: the settings are written in
 * a sub-select (`OFFSET 0` keeps it a sub-plan of its own, and PostgreSQL never drops a volatile
 * output), and only from its row does the outer select call the function, so the function reads
 * the settings just written. `set_config('role', ..., true)` is `SET LOCAL ROLE`: it ends with the
 * transaction; `'none'` (or NULL) leaves the connection's own role.
 */
function setSettingsAndRole(roleFunction: string): string {
  return `SELECT settings.*, set_config('role', COALESCE(${qualifiedTable(roleFunction).sql}(), 'none'), true) AS role FROM (SELECT ${SETTINGS} OFFSET 0) settings`;
}

const withRole = new Map<string, string>();

/**
 * The one statement that writes a context into the current transaction: four `set_config(...,
 * true)` calls (transaction-local), every name and value a bind parameter; with `roleFunction`
 * (a schema-qualified function name, checked), also the role the transaction runs as, as that
 * function returns it once the settings are written.
 */
export function settingsStatement(
  settings: TenancySettingNames,
  context: TenantContext,
  roleFunction?: string,
): [sql: string, parameters: string[]] {
  let sql = SET_SETTINGS;
  if (roleFunction !== undefined) {
    sql = withRole.get(roleFunction) ?? setSettingsAndRole(roleFunction);
    withRole.set(roleFunction, sql);
  }
  return [
    sql,
    [
      settings.tenantId,
      context.tenantId,
      settings.userId,
      context.userId,
      settings.role,
      context.role,
      settings.requestId,
      context.requestId ?? '',
    ],
  ];
}

/**
 * The one writer of the RLS context: TypeORM calls it after each transaction starts, and on the
 * runner of a tenant scope ({@link TenantQueryRunner}) it writes the tenant, user, role and
 * request-id settings with {@link settingsStatement}: one statement, one round trip, values as bind
 * parameters, `is_local = true` so they end with the transaction and never outlive it on a pooled
 * connection. Serial and pipelined connections alike (pipelined, the statement is only queued and
 * travels with BEGIN and the first query). Registered first by {@link TenancyDataSource}, so it runs
 * before the app's own subscribers.
 */
export class RlsTransactionSubscriber implements EntitySubscriberInterface {
  /** Called by TypeORM after BEGIN (and after each SAVEPOINT, which needs nothing). */
  afterTransactionStart(event: TransactionStartEvent): Promise<unknown> | undefined {
    const runner = event.queryRunner;
    if (!(runner instanceof TenantQueryRunner) || !runner.isBeginning) return undefined;
    const { settings, requestRoleFunction } = runner.scope;
    return runner.writeSettings(
      ...settingsStatement(settings, runner.context, requestRoleFunction),
    );
  }
}
