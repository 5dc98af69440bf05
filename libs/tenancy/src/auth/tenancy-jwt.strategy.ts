import { ForbiddenException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { TenantContext } from '../context/tenant-context.interface';
import { isUuid } from '../context/tenant-context.validation';
import { RESOLVED_TENANCY_OPTIONS } from '../tenancy.providers';
import { TENANCY_JWT_STRATEGY } from '../tenancy.internal-constants';
import { ResolvedTenancyOptions } from '../tenancy-options.interface';
import { TenantStatusService } from './tenant-status.service';

/**
 * passport-jwt strategy: verifies signature, algorithm, expiry, not-before (and issuer/audience
 * when configured), then turns the claims into a TenantContext: uuids for tenant and user, a
 * configured role, and a tenant that exists (401) and is active (403).
 */
@Injectable()
export class TenancyJwtStrategy extends PassportStrategy(Strategy, TENANCY_JWT_STRATEGY) {
  constructor(
    @Inject(RESOLVED_TENANCY_OPTIONS) private readonly options: ResolvedTenancyOptions,
    private readonly statuses: TenantStatusService,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKey: options.jwt.key,
      algorithms: options.jwt.algorithms,
      issuer: options.jwt.issuer,
      audience: options.jwt.audience,
      ignoreExpiration: false,
      jsonWebTokenOptions: { clockTolerance: options.jwt.clockToleranceSeconds },
    });
  }

  /** Maps verified claims to the request's TenantContext; throws 401/403 with a clear message. */
  async validate(payload: Record<string, unknown>): Promise<TenantContext> {
    const { claims, roles } = this.options;
    const tenantId = payload[claims.tenantId];
    const userId = payload[claims.userId];
    const role = payload[claims.role];
    if (!isUuid(tenantId))
      throw new UnauthorizedException(`token claim "${claims.tenantId}" must be a uuid`);
    if (!isUuid(userId))
      throw new UnauthorizedException(`token claim "${claims.userId}" must be a uuid`);
    if (typeof role !== 'string' || !roles.includes(role)) {
      throw new ForbiddenException(
        `token claim "${claims.role}" must be one of: ${roles.join(', ')}`,
      );
    }
    const status = await this.statuses.status(tenantId.toLowerCase());
    if (!status) throw new UnauthorizedException('unknown tenant');
    if (status !== 'active') throw new ForbiddenException('tenant is suspended');
    return Object.freeze({ tenantId: tenantId.toLowerCase(), userId: userId.toLowerCase(), role });
  }
}
