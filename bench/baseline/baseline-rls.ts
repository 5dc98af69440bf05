import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { BaselineUser } from './baseline-auth.guard';

/** Whether the baseline runs its ticket queries under RLS (BaselineConfig.rls). */
export const BASELINE_RLS = Symbol('BASELINE_RLS');

const SETTINGS =
  'SELECT set_config($1, $2, true), set_config($3, $4, true), set_config($5, $6, true), set_config($7, $8, true)';
const READ_ONLY = `${SETTINGS}, set_config('transaction_read_only', 'on', true)`;

/**
 * How the hand-written app would run a route's queries under row-level security without the
 * library: `DataSource.transaction()` (TypeORM's `START TRANSACTION` ... `COMMIT`, each statement
 * awaited), the same one settings statement the library sends (with bind parameters; read-only
 * for a read, as the library's read routes are), then the route's queries as the app role. Only
 * with `rls`; otherwise the route's queries run as they always did, outside a transaction.
 */
@Injectable()
export class BaselineQueries {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(BASELINE_RLS) readonly rls: boolean,
  ) {}

  /** Runs `fn` in a transaction with `user`'s settings written first. */
  underRls<T>(
    user: BaselineUser,
    readOnly: boolean,
    fn: (m: EntityManager) => Promise<T>,
  ): Promise<T> {
    return this.dataSource.transaction(async (m) => {
      await m.query(readOnly ? READ_ONLY : SETTINGS, [
        'app.tenant_id',
        user.tenantId,
        'app.user_id',
        user.userId,
        'app.role',
        user.role,
        'app.request_id',
        randomUUID(),
      ]);
      return fn(m);
    });
  }
}
