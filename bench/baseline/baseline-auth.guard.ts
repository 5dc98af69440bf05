import {
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { createSecretKey } from 'node:crypto';
import passport from 'passport';
import { ExtractJwt, Strategy } from 'passport-jwt';

/** Who the baseline's caller is, read from the verified token. */
export interface BaselineUser {
  tenantId: string;
  userId: string;
  role: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
let strategies = 0;

/**
 * The JWT check a team writes without the library: passport-jwt (HS256, expiry), the claims must
 * be uuids and a known role. No tenant registry lookup: the baseline trusts the token. The key is
 * built once (`createSecretKey`), as the library does; with `naive`, the secret string goes to
 * passport-jwt as users often pass it, and jsonwebtoken tries to parse it as a public key on every
 * verify.
 */
@Injectable()
export class BaselineJwt {
  readonly name = `bench-baseline-jwt-${++strategies}`;

  constructor(secret: string, roles: string[], naive = false) {
    passport.use(
      this.name,
      new Strategy(
        {
          jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
          // passport-jwt's types say string | Buffer; it hands the key to jsonwebtoken as it is.
          secretOrKey: naive ? secret : (createSecretKey(Buffer.from(secret)) as unknown as Buffer),
          algorithms: ['HS256'],
          ignoreExpiration: false,
        },
        (
          payload: Record<string, unknown>,
          done: (e: unknown, u?: BaselineUser | false) => void,
        ) => {
          const { tenant_id: tenantId, sub: userId, role } = payload;
          if (!UUID.test(String(tenantId)) || !UUID.test(String(userId))) return done(null, false);
          if (typeof role !== 'string' || !roles.includes(role)) return done(null, false);
          done(null, {
            tenantId: String(tenantId).toLowerCase(),
            userId: String(userId).toLowerCase(),
            role,
          });
        },
      ),
    );
  }

  close(): void {
    passport.unuse(this.name);
  }
}

/** Authenticates with {@link BaselineJwt}; puts the user on `request.user`. */
@Injectable()
export class BaselineAuthGuard implements CanActivate {
  constructor(private readonly jwt: BaselineJwt) {}

  canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<{ user?: BaselineUser }>();
    return new Promise((resolve, reject) => {
      const authenticate = passport.authenticate(
        this.jwt.name,
        { session: false },
        (err: unknown, user: BaselineUser | false) => {
          if (err) return reject(err instanceof Error ? err : new UnauthorizedException());
          if (!user) return reject(new UnauthorizedException('invalid token'));
          request.user = user;
          resolve(true);
        },
      ) as (req: unknown, res: unknown, next: (err?: unknown) => void) => void;
      authenticate(request, http.getResponse(), (err?: unknown) =>
        reject(err instanceof Error ? err : new UnauthorizedException()),
      );
    });
  }
}

/** Throws 403 unless the caller has one of `roles`. */
export function requireRole(user: BaselineUser, ...roles: string[]): void {
  if (!roles.includes(user.role))
    throw new ForbiddenException(`requires role: ${roles.join(' or ')}`);
}
