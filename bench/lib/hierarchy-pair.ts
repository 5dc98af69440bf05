import { TreeNode } from './data';
import { DbQueryPair } from './db-level';

/** The deal columns both sides select. */
export const DEAL_COLUMNS =
  'd.tenant_id, d.id, d.account_id, d.title, d.amount, d.stage, d.owner_id, d.created_at, d.updated_at';

/** The request-role function sales-api configures (migration 1764000010000). */
export const SALES_REQUEST_ROLE_FUNCTION = 'sales.request_role';

/**
 * A manager's deals as sales-api's callerDealsQuery names them (the tenant only) under the
 * policies, in the request role of the manager's team size as sales-api's transactions run,
 * against the owner-chain condition by hand without RLS: every deal in the subtree, or the first page (the
 * oldest 51, as GET /deals sends it).
 */
export function hierarchyPair(
  id: string,
  label: string,
  tenant: string,
  manager: TreeNode,
  page: boolean,
): DbQueryPair {
  const tail = `ORDER BY d.created_at, d.id${page ? ' LIMIT 51' : ''}`;
  const values = [tenant, manager.userId];
  return {
    id,
    label,
    context: { tenantId: tenant, userId: manager.userId, role: 'manager' },
    requestRoleFunction: SALES_REQUEST_ROLE_FUNCTION,
    rls: () => ({
      text: `SELECT ${DEAL_COLUMNS} FROM sales.deals d WHERE d.tenant_id = $1 ${tail}`,
      values: [tenant],
    }),
    explicit: () => ({
      text: `SELECT ${DEAL_COLUMNS} FROM sales.deals d
              WHERE d.tenant_id = $1 AND d.owner_chain @> ARRAY[$2::uuid]
              ${tail}`,
      values,
    }),
  };
}
