import { ForbiddenException, UnauthorizedException } from '@nestjs/common';
import { TenantContext } from '../context/tenant-context.interface';
import { isUuid } from '../context/tenant-context.validation';
import { TenantStatusService } from './tenant-status.service';

/**
 * A request's tenant, user and role as its authentication found them, not yet checked: a verified
 * token's claims, or what `resolveTenantContext` returned.
 */
export interface TenantClaims {
  /** The tenant id; must be a uuid (401). */
  readonly tenantId: unknown;
  /** The acting user's id; must be a uuid (401). */
  readonly userId: unknown;
  /** The acting role; must be a string (401) listed in `roles` (403). */
  readonly role: unknown;
}

/** How each of the {@link TenantClaims} is named in the 401/403 messages. */
export type TenantClaimLabels = Record<keyof TenantClaims, string>;

/**
 * The one check between authentication and the tenant context, for the JWT strategy and the
 * `resolveTenantContext` option alike: uuid tenant and user (401), a string role (401) listed in
 * `roles` (403), and a tenant that exists (401) and is active (403). Returns the frozen context.
 */
export async function verifyTenantClaims(
  claims: TenantClaims,
  labels: TenantClaimLabels,
  roles: readonly string[],
  statuses: TenantStatusService,
): Promise<TenantContext> {
  const { tenantId, userId, role } = claims;
  if (!isUuid(tenantId)) throw new UnauthorizedException(`${labels.tenantId} must be a uuid`);
  if (!isUuid(userId)) throw new UnauthorizedException(`${labels.userId} must be a uuid`);
  if (typeof role !== 'string') throw new UnauthorizedException(`${labels.role} must be a string`);
  if (!roles.includes(role)) {
    throw new ForbiddenException(`${labels.role} must be one of: ${roles.join(', ')}`);
  }
  const status = await statuses.status(tenantId.toLowerCase());
  if (!status) throw new UnauthorizedException('unknown tenant');
  if (status !== 'active') throw new ForbiddenException('tenant is suspended');
  return Object.freeze({ tenantId: tenantId.toLowerCase(), userId: userId.toLowerCase(), role });
}
