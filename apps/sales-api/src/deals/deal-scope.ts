import { Repository, SelectQueryBuilder } from 'typeorm';
import { TenantContext } from '@app/tenancy';
import { Deal } from './deal.entity';

/**
 * How a deals query reads the caller's scope: `page`, an `ORDER BY ... LIMIT` page of it, or
 * `all`, every deal of it (an aggregate such as the pipeline report).
 */
export type DealsRead = 'page' | 'all';

/**
 * The condition that keeps a manager's reporting subtree: `owner IN (SELECT ...)` for a `page`,
 * `owner = ANY (ARRAY(SELECT ...))` for `all` (why each: {@link callerDealsQuery}). `owner` is the
 * deal's owner column as the query names it, `tenant` and `manager` are placeholders (`:name` for
 * TypeORM, `$n` for pg). The one place this SQL is written: the benchmark sends the same text.
 */
export function managerScopeCondition(
  owner: string,
  tenant: string,
  manager: string,
  read: DealsRead,
): string {
  const subtree = `SELECT c.descendant_id FROM sales.team_closure c
                    WHERE c.tenant_id = ${tenant} AND c.ancestor_id = ${manager}`;
  return read === 'page' ? `${owner} IN (${subtree})` : `${owner} = ANY (ARRAY(${subtree}))`;
}

/**
 * A query over the deals the caller may see, with the tenant and the caller's scope named in it:
 * a rep's own deals, a manager's reporting subtree, an admin's whole tenant (any other role: the
 * tenant only, and the row policy gives it no rows). The row policy allows exactly that scope and
 * still decides; this can only narrow what it allows. The query names it so that PostgreSQL plans
 * from the scope instead of the policy's opaque per-row check. A manager's subtree is named in the
 * form that fits the read: for a `page`, as `IN (SELECT ...)`, a join whose size the planner
 * estimates from the closure's statistics, so that it walks the oldest-first index for a large
 * team and goes through the owner index for a small one; for `all`, as `= ANY (ARRAY(...))`, so that
 * it fetches the subtree's deals through the owner index instead of scanning the tenant's deals and
 * checking each one twice (policy and join).
 */
export function callerDealsQuery(
  deals: Repository<Deal>,
  alias: string,
  ctx: TenantContext,
  read: DealsRead,
): SelectQueryBuilder<Deal> {
  const qb = deals
    .createQueryBuilder(alias)
    .where(`${alias}.tenantId = :scopeTenantId`, { scopeTenantId: ctx.tenantId });
  if (ctx.role === 'rep') {
    return qb.andWhere(`${alias}.ownerId = :scopeUserId`, { scopeUserId: ctx.userId });
  }
  if (ctx.role === 'manager') {
    return qb.andWhere(
      managerScopeCondition(`${alias}.ownerId`, ':scopeTenantId', ':scopeUserId', read),
      { scopeUserId: ctx.userId },
    );
  }
  return qb;
}
