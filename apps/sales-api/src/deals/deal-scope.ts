import { Repository, SelectQueryBuilder } from 'typeorm';
import { TenantContext } from '@app/tenancy';
import { Deal } from './deal.entity';

/**
 * A query over the deals the caller may see, with the tenant and the caller's scope named in it:
 * a rep's own deals, a manager's reporting subtree, an admin's whole tenant (any other role: the
 * tenant only, and the row policy gives it no rows). The row policy allows exactly that scope and
 * still decides; this can only narrow what it allows. The query names it so that PostgreSQL
 * estimates the scope from statistics instead of the policy's opaque per-row check, and picks
 * the plan that fits: a rep's deals through the owner index, a large team's page by walking the
 * oldest-first index.
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
  if (ctx.role === 'manager') {
    return qb.andWhere(
      `${alias}.ownerId IN (SELECT c.descendant_id FROM sales.team_closure c
         WHERE c.tenant_id = :scopeTenantId AND c.ancestor_id = :scopeUserId)`,
      { scopeUserId: ctx.userId },
    );
  }
  return qb;
}
