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
import { ResolvedTenancyOptions } from '../tenancy.options';
import { TenantStatusService } from './tenant-status.service';

let instances = 0;

/**
 * The latest time claim (`exp`, `nbf`, `iat`) a token may carry, in seconds since the epoch:
 * 9999-12-31T23:59:59Z. Anything larger, `1e999` (Infinity once parsed) among it, is refused.
 */
const MAX_TOKEN_TIME = 253402300799;

const TIME_CLAIMS = ['exp', 'nbf', 'iat'] as const;

/**
 * passport-jwt strategy: verifies signature, algorithm, expiry (required unless
 * `jwt.requireExpiry: false`), not-before (and issuer/audience when configured), time claims that
 * are finite seconds from 0 to 9999-12-31T23:59:59Z and an `iat` not in the future (beyond the clock
 * tolerance), all 401; then turns the claims into a TenantContext: uuids for tenant and user (401),
 * a string role (401) that is configured (403), and a tenant that exists (401) and is active (403).
 * Each TenancyModule instance registers its own strategy under a unique name, so two apps in one
 * process never share a secret.
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
    this.assertTimes(payload);
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

  /** 401 unless `exp` (when required), `nbf` and `iat` are sane times and `iat` is not ahead. */
  private assertTimes(payload: Record<string, unknown>): void {
    const { requireExpiry, clockToleranceSeconds } = this.options.jwt;
    if (requireExpiry && payload.exp === undefined)
      throw new UnauthorizedException('token has no expiry (exp claim)');
    for (const claim of TIME_CLAIMS) {
      const value = payload[claim];
      if (
        value !== undefined &&
        !(typeof value === 'number' && value >= 0 && value <= MAX_TOKEN_TIME)
      )
        throw new UnauthorizedException(
          `token claim "${claim}" must be a time in seconds from 0 to ${MAX_TOKEN_TIME} (year 9999)`,
        );
    }
    if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + clockToleranceSeconds)
      throw new UnauthorizedException('token issued in the future (iat claim)');
  }
}
