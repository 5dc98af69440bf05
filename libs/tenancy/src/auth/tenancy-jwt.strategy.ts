import {
  ForbiddenException,
  Inject,
  Injectable,
  OnModuleDestroy,
  UnauthorizedException,
} from '@nestjs/common';
import passport from 'passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { TenantContext } from '../context/tenant-context.interface';
import { isUuid } from '../context/tenant-context.validation';
import { RESOLVED_TENANCY_OPTIONS } from '../tenancy.providers';
import { TENANCY_JWT_STRATEGY } from '../tenancy.internal-constants';
import { ResolvedTenancyOptions } from '../tenancy-options.interface';
import { TenantStatusService } from './tenant-status.service';

let instances = 0;

/**
 * passport-jwt strategy: verifies signature, algorithm, expiry (required unless
 * `jwt.requireExpiry: false`), not-before (and issuer/audience when configured), then turns the
 * claims into a TenantContext: uuids for tenant and user (401), a string role (401) that is
 * configured (403), and a tenant that exists (401) and is active (403). Each TenancyModule instance
 * registers its own strategy under a unique name, so two apps in one process never share a secret.
 */
@Injectable()
export class TenancyJwtStrategy extends Strategy implements OnModuleDestroy {
  /** The name this instance is registered under in passport. */
  override readonly name: string;

  constructor(
    @Inject(RESOLVED_TENANCY_OPTIONS) private readonly options: ResolvedTenancyOptions,
    private readonly statuses: TenantStatusService,
  ) {
    const self: { strategy?: TenancyJwtStrategy } = {};
    super(
      {
        jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
        // A KeyObject, built once: passport-jwt hands it to jsonwebtoken as it is (its types say
        // string | Buffer, jsonwebtoken takes a KeyObject and skips re-parsing the key per token).
        secretOrKey: options.jwt.key as unknown as Buffer,
        algorithms: options.jwt.algorithms,
        issuer: options.jwt.issuer,
        audience: options.jwt.audience,
        ignoreExpiration: false,
        jsonWebTokenOptions: { clockTolerance: options.jwt.clockToleranceSeconds },
      },
      (
        payload: Record<string, unknown>,
        done: (err: unknown, user?: TenantContext | false) => void,
      ) => {
        self.strategy!.validate(payload).then(
          (context) => done(null, context),
          (error: unknown) => done(error, false),
        );
      },
    );
    self.strategy = this;
    this.name = `${TENANCY_JWT_STRATEGY}-${++instances}`;
    passport.use(this.name, this);
  }

  onModuleDestroy(): void {
    passport.unuse(this.name);
  }

  /** Maps verified claims to the request's TenantContext; throws 401/403 with a clear message. */
  async validate(payload: Record<string, unknown>): Promise<TenantContext> {
    const { claims, roles } = this.options;
    const tenantId = payload[claims.tenantId];
    const userId = payload[claims.userId];
    const role = payload[claims.role];
    if (this.options.jwt.requireExpiry && typeof payload.exp !== 'number')
      throw new UnauthorizedException('token has no expiry (exp claim)');
    if (!isUuid(tenantId))
      throw new UnauthorizedException(`token claim "${claims.tenantId}" must be a uuid`);
    if (!isUuid(userId))
      throw new UnauthorizedException(`token claim "${claims.userId}" must be a uuid`);
    if (typeof role !== 'string')
      throw new UnauthorizedException(`token claim "${claims.role}" must be a string`);
    if (!roles.includes(role)) {
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
