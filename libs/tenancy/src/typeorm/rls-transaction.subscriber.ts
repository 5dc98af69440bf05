import { escapeIdentifier, escapeLiteral } from 'pg';
import { EntitySubscriberInterface, TransactionStartEvent } from 'typeorm';
import { TenantContext } from '../context/tenant-context.interface';
import { assertContextForm, isRequestId } from '../context/tenant-context.validation';
import { InvalidTenantContextError } from '../errors/tenancy-errors';
import { TenancySettingNames } from '../tenancy.constants';
import { qualifiedTable, settingLiteral } from '../migrations/sql';
import { TenantQueryRunner, TenantScopeOptions } from './tenant-query-runner';

const SETTINGS =
  'set_config($1, $2, true), set_config($3, $4, true), set_config($5, $6, true), set_config($7, $8, true)';
/** Makes the rest of the transaction read-only (allowed at any point, unlike the way back). */
const READ_ONLY = "set_config('transaction_read_only', 'on', true)";
const SET_SETTINGS = `SELECT ${SETTINGS}`;
const SET_SETTINGS_READ_ONLY = `SELECT ${SETTINGS}, ${READ_ONLY}`;

/**
 * The settings statement when a request-role function is configured: the settings are written in
 * a sub-select (`OFFSET 0` keeps it a sub-plan of its own, and PostgreSQL never drops a volatile
 * output), and only from its row does the outer select call the function, so the function reads
 * the settings just written. `set_config('role', ..., true)` is `SET LOCAL ROLE`: it ends with the
 * transaction; `'none'` (or NULL) leaves the connection's own role.
 */
function setSettingsAndRole(roleFunction: string, readOnly: boolean): string {
  const settings = readOnly ? `${SETTINGS}, ${READ_ONLY}` : SETTINGS;
  return `SELECT settings.*, ${roleStatement(roleFunction)} AS role FROM (SELECT ${settings} OFFSET 0) settings`;
}

/** `set_config('role', <the function's answer>, true)`: `SET LOCAL ROLE`, or the connection's own. */
function roleStatement(roleFunction: string): string {
  return `set_config('role', COALESCE(${qualifiedTable(roleFunction).sql}(), 'none'), true)`;
}

const withRole = new Map<string, string>();

/** One statement of the settings writer: its SQL and bind parameters. */
export type SettingsStatement = [sql: string, parameters: string[]];

/**
 * The one statement that writes a context into the current transaction: four `set_config(...,
 * true)` calls (transaction-local), every name and value a bind parameter; with `roleFunction`
 * (a schema-qualified function name, checked), also the role the transaction runs as, as that
 * function returns it once the settings are written; with `readOnly`, the rest of the transaction
 * is read-only (`transaction_read_only`, as `SET TRANSACTION READ ONLY`).
 */
export function settingsStatement(
  settings: TenancySettingNames,
  context: TenantContext,
  roleFunction?: string,
  readOnly = false,
): SettingsStatement {
  let sql = readOnly ? SET_SETTINGS_READ_ONLY : SET_SETTINGS;
  if (roleFunction !== undefined) {
    const key = `${readOnly ? 'r' : 'w'}${roleFunction}`;
    sql = withRole.get(key) ?? setSettingsAndRole(roleFunction, readOnly);
    withRole.set(key, sql);
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
 * The `contextStatement: 'set-local'` form of {@link settingsStatement}, for Citus (which replays
 * `SET LOCAL` on its workers and not `set_config()`): one `SET LOCAL name = 'value'` per setting,
 * each its own query string, as Citus forwards a SET with the whole string it came in. SET takes
 * no bind parameters, so every value is checked first (uuid tenant and user, a role name, a safe
 * request id: a context that fails is refused with {@link InvalidTenantContextError}, nothing is
 * sent) and then quoted by pg's `escapeLiteral`; setting names were checked at start-up and are
 * quoted as identifiers. `roleFunction` and `readOnly` add one statement each.
 */
export function setLocalStatements(
  settings: TenancySettingNames,
  context: TenantContext,
  roleFunction?: string,
  readOnly = false,
): SettingsStatement[] {
  assertContextForm(context);
  const requestId = context.requestId ?? '';
  if (requestId !== '' && !isRequestId(requestId)) {
    throw new InvalidTenantContextError('requestId is not a safe request id');
  }
  const statements: SettingsStatement[] = [
    [setLocal(settings.tenantId, context.tenantId), []],
    [setLocal(settings.userId, context.userId), []],
    [setLocal(settings.role, context.role), []],
    [setLocal(settings.requestId, requestId), []],
  ];
  if (readOnly) statements.push(['SET LOCAL transaction_read_only = on', []]);
  if (roleFunction !== undefined) statements.push([`SELECT ${roleStatement(roleFunction)}`, []]);
  return statements;
}

/** `SET LOCAL "prefix"."name" = 'value'`, the name checked and both quoted. */
function setLocal(name: string, value: string): string {
  settingLiteral(name);
  const quoted = name.split('.').map(escapeIdentifier).join('.');
  return `SET LOCAL ${quoted} = ${escapeLiteral(value)}`;
}

/** The statements that write a scope's context, in the form its options choose. */
export function contextStatements(
  scope: Pick<TenantScopeOptions, 'settings' | 'requestRoleFunction' | 'contextStatement'>,
  context: TenantContext,
  readOnly = false,
): SettingsStatement[] {
  const { settings, requestRoleFunction } = scope;
  if (scope.contextStatement === 'set-local') {
    return setLocalStatements(settings, context, requestRoleFunction, readOnly);
  }
  return [settingsStatement(settings, context, requestRoleFunction, readOnly)];
}

/**
 * The one writer of the RLS context: TypeORM calls it after each transaction starts, and on the
 * runner of a tenant scope ({@link TenantQueryRunner}) it writes the tenant, user, role and
 * request-id settings with {@link settingsStatement}: one statement, one round trip, values as bind
 * parameters, `is_local = true` so they end with the transaction and never outlive it on a pooled
 * connection (with `contextStatement: 'set-local'`, the `SET LOCAL` statements of
 * {@link setLocalStatements} instead). Serial and pipelined connections alike (pipelined, the statement is only queued and
 * travels with BEGIN and the first query). Registered first by {@link TenancyDataSource}, so it runs
 * before the app's own subscribers.
 */
export class RlsTransactionSubscriber implements EntitySubscriberInterface {
  /** Called by TypeORM after BEGIN (and after each SAVEPOINT, which needs nothing). */
  afterTransactionStart(event: TransactionStartEvent): Promise<unknown> | undefined {
    const runner = event.queryRunner;
    if (!(runner instanceof TenantQueryRunner) || !runner.isBeginning) return undefined;
    return runner.writeSettings(contextStatements(runner.scope, runner.context, runner.readOnly));
  }
}
