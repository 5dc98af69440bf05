import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { DEFAULT_SETTING_NAMES } from '@app/tenancy';
// The hand-written RLS side sends exactly the library's settings statement (an internal module,
// as bench/driver.ts takes it).
// eslint-disable-next-line no-restricted-imports
import { settingsStatement } from '../../libs/tenancy/src/typeorm/rls-transaction.subscriber';
import { BaselineUser } from './baseline-auth.guard';

/** Whether the baseline runs its ticket queries under RLS (BaselineConfig.rls). */
export const BASELINE_RLS = Symbol('BASELINE_RLS');

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
    const [sql, parameters] = settingsStatement(
      DEFAULT_SETTING_NAMES,
      { ...user, requestId: randomUUID() },
      undefined,
      readOnly,
    );
    return this.dataSource.transaction(async (m) => {
      await m.query(sql, parameters);
      return fn(m);
    });
  }
}
