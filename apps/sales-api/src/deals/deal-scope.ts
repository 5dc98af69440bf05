import { Repository, SelectQueryBuilder } from 'typeorm';
import { TenantContext } from '@app/tenancy';
import { Deal } from './deal.entity';

/**
 * A query over the deals the caller may see, with the tenant named in it, and for a rep their own
 * id (an admin, a manager, or any other role: the tenant only; the row policy gives an unknown
 * role no rows). The row policies allow exactly the caller's scope and decide; this can only
 * narrow what they allow. What the query names is there for the planner: the tenant, so that
 * PostgreSQL estimates with the tenant's own statistics, and a rep's id, so that their deals come
 * through the owner index. A manager's subtree is not named: each manager's transaction runs as
 * the request role of their team's size (migration 1764000010000, `sales.request_role()`), whose
 * policy alone drives the plan that fits, the GIN index of `owner_chain` for a small team, a walk
 * of the oldest-first index for a large one (migration 1764000013500); naming the subtree as well
 * would only add a second check of the same chain.
 */
export function callerDealsQuery(
  deals: Repository<Deal>,
  alias: string,
  ctx: TenantContext,
): SelectQueryBuilder<Deal> {
  const qb = deals
    .createQueryBuilder(alias)
    .where(`${alias}.tenantId = :scopeTenantId`, { scopeTenantId: ctx.tenantId });
  if (ctx.role === 'rep') {
    return qb.andWhere(`${alias}.ownerId = :scopeUserId`, { scopeUserId: ctx.userId });
  }
  return qb;
}
