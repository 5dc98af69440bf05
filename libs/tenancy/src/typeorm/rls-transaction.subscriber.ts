import { EntitySubscriberInterface, TransactionStartEvent } from 'typeorm';
import { TenantContext } from '../context/tenant-context.interface';
import { TenancySettingNames } from '../tenancy.constants';
import { runnerContext } from './runner-context';

const SET_SETTINGS =
  'SELECT set_config($1, $2, true), set_config($3, $4, true), set_config($5, $6, true), set_config($7, $8, true)';

/**
 * The one statement that writes a context into the current transaction: four `set_config(...,
 * true)` calls (transaction-local), every name and value a bind parameter.
 */
export function settingsStatement(
  settings: TenancySettingNames,
  context: TenantContext,
): [sql: string, parameters: string[]] {
  return [
    SET_SETTINGS,
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
 * Writes the tenant, user, role and request-id settings into every tenant-scoped transaction,
 * right after it begins: one statement, one round trip, values as bind parameters, `is_local =
 * true` so they end with the transaction and never outlive it on a pooled connection. (On a
 * pipelined connection the tenant transaction sends the same statement itself, in the same flight
 * as BEGIN and the first query.)
 */
export class RlsTransactionSubscriber implements EntitySubscriberInterface {
  constructor(private readonly settings: TenancySettingNames) {}

  /** Called by TypeORM after BEGIN (and after each SAVEPOINT, which needs nothing). */
  async afterTransactionStart(event: TransactionStartEvent): Promise<void> {
    const context = runnerContext(event.queryRunner);
    const depth = (event.queryRunner as unknown as { transactionDepth?: number }).transactionDepth;
    if (!context || depth !== 1) return;
    await event.queryRunner.query(...settingsStatement(this.settings, context));
  }
}
