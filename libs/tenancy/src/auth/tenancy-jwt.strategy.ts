import { randomUUID } from 'node:crypto';
import { OnModuleDestroy, Provider, UnauthorizedException } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import passport from 'passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { TenantContext } from '../context/tenant-context.interface';
import { RESOLVED_TENANCY_OPTIONS } from '../tenancy.providers';
import { TENANCY_JWT_STRATEGY, TENANCY_JWT_STRATEGY_NAME } from '../tenancy.internal-constants';
import { ResolvedTenancyOptions } from '../tenancy.options';
import { verifyTenantClaims } from './tenant-claims.verify';
import { TenantStatusService } from './tenant-status.service';
import { TenancyConfigurationError } from '../errors/tenancy.error';

/**
 * The latest time claim (`exp`, `nbf`, `iat`) a token may carry, in seconds since the epoch:
 * 9999-12-31T23:59:59Z. Anything larger, `1e999` (Infinity once parsed) among it, is refused.
 */
const MAX_TOKEN_TIME = 253402300799;

const TIME_CLAIMS = ['exp', 'nbf', 'iat'] as const;

/** What the guard and the module see of a module instance's JWT strategy. */
export interface TenancyJwtStrategy extends OnModuleDestroy {
  /** The name this instance is registered under in passport. */
  readonly name: string;
  /** Maps verified claims to the request's TenantContext; throws 401/403 with a clear message. */
  validate(payload: Record<string, unknown>): Promise<TenantContext>;
}

/**
 * The passport-jwt strategy class registered (by @nestjs/passport's `PassportStrategy`) under
 * `name`: verifies signature, algorithm, expiry (required unless `jwt.requireExpiry: false`),
 * not-before (and issuer/audience when configured), time claims that are finite seconds from 0 to
 * 9999-12-31T23:59:59Z and an `iat` not in the future (beyond the clock tolerance), all 401; then
 * {@link verifyTenantClaims}. One class per module instance, because the mixin takes the name when
 * the class is defined and passport's registry is process-wide.
 */
export function tenancyJwtStrategyClass(
  name: string,
): new (options: ResolvedTenancyOptions, statuses: TenantStatusService) => TenancyJwtStrategy {
  return class NamedTenancyJwtStrategy
    extends PassportStrategy(Strategy, name)
    implements TenancyJwtStrategy
  {
    override readonly name = name;

    private readonly jwt: NonNullable<ResolvedTenancyOptions['jwt']>;

    constructor(
      private readonly options: ResolvedTenancyOptions,
      private readonly statuses: TenantStatusService,
    ) {
      const jwt = options.jwt;
      if (!jwt) throw new TenancyConfigurationError('the JWT strategy needs the jwt option');
      super({
        jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
        // A KeyObject, built once: passport-jwt hands it to jsonwebtoken as it is (its types say
        // string | Buffer, jsonwebtoken takes a KeyObject and skips re-parsing the key per token).
        secretOrKey: jwt.key as unknown as Buffer,
        algorithms: jwt.algorithms,
        issuer: jwt.issuer,
        audience: jwt.audience,
        ignoreExpiration: false,
        jsonWebTokenOptions: { clockTolerance: jwt.clockToleranceSeconds },
      });
      this.jwt = jwt;
    }

    onModuleDestroy(): void {
      passport.unuse(name);
    }

    async validate(payload: Record<string, unknown>): Promise<TenantContext> {
      const { claims, roles } = this.options;
      this.assertTimes(payload);
      return verifyTenantClaims(
        {
          tenantId: payload[claims.tenantId],
          userId: payload[claims.userId],
          role: payload[claims.role],
        },
        {
          tenantId: `token claim "${claims.tenantId}"`,
          userId: `token claim "${claims.userId}"`,
          role: `token claim "${claims.role}"`,
        },
        roles,
        this.statuses,
      );
    }

    /** 401 unless `exp` (when required), `nbf` and `iat` are sane times and `iat` is not ahead. */
    private assertTimes(payload: Record<string, unknown>): void {
      const { requireExpiry, clockToleranceSeconds } = this.jwt;
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
      if (
        typeof payload.iat === 'number' &&
        payload.iat > Date.now() / 1000 + clockToleranceSeconds
      )
        throw new UnauthorizedException('token issued in the future (iat claim)');
    }
  };
}

/**
 * This module instance's JWT strategy, under a name of its own (`tenancy-jwt-<uuid>`), so that two
 * apps in one process never verify each other's tokens; it leaves passport on module destroy. None
 * (`null`) when `resolveTenantContext` replaces it and no `jwt` option was given.
 */
export const tenancyJwtStrategyProvider: Provider = {
  provide: TENANCY_JWT_STRATEGY,
  useFactory: (options: ResolvedTenancyOptions, statuses: TenantStatusService) =>
    options.jwt
      ? new (tenancyJwtStrategyClass(`${TENANCY_JWT_STRATEGY_NAME}-${randomUUID()}`))(
          options,
          statuses,
        )
      : null,
  inject: [RESOLVED_TENANCY_OPTIONS, TenantStatusService],
};
