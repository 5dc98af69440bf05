import { EntitySubscriberInterface, TransactionStartEvent } from 'typeorm';
import { TenancySettingNames } from '../tenancy.constants';
import { runnerContext } from './tenant-transaction';

/**
 * Writes the tenant, user, role and request-id settings into every tenant-scoped transaction, right after it
 * begins: one statement, one round trip, values as bind parameters, `is_local = true` so they end
 * with the transaction and never outlive it on a pooled connection.
 */
export class RlsTransactionSubscriber implements EntitySubscriberInterface {
  private readonly sql =
    'SELECT set_config($1, $2, true), set_config($3, $4, true), set_config($5, $6, true), set_config($7, $8, true)';

  constructor(private readonly settings: TenancySettingNames) {}

  /** Called by TypeORM after BEGIN (and after each SAVEPOINT, which needs nothing). */
  async afterTransactionStart(event: TransactionStartEvent): Promise<void> {
    const context = runnerContext(event.queryRunner);
    const depth = (event.queryRunner as unknown as { transactionDepth?: number }).transactionDepth;
    if (!context || depth !== 1) return;
    await event.queryRunner.query(this.sql, [
      this.settings.tenantId,
      context.tenantId,
      this.settings.userId,
      context.userId,
      this.settings.role,
      context.role,
      this.settings.requestId,
      context.requestId ?? '',
    ]);
  }
}
