import {
  CanActivate,
  ExecutionContext,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import passport from 'passport';
import { TenantContext } from '../context/tenant-context.interface';
import { RESOLVED_TENANCY_OPTIONS } from '../tenancy.providers';
import { CLS_TENANT_CONTEXT } from '../tenancy.internal-constants';
import { ResolvedTenancyOptions } from '../tenancy.options';
import { TenancyJwtStrategy } from './tenancy-jwt.strategy';

const MESSAGES: Record<string, string> = {
  'No auth token': 'missing bearer token',
  'jwt expired': 'token expired',
  'jwt not active': 'token not yet valid',
  'invalid signature': 'invalid token signature',
  'jwt malformed': 'malformed token',
  'invalid algorithm': 'token algorithm not accepted',
  'jwt signature is required': 'unsigned tokens are not accepted',
  'invalid token': 'malformed token',
  'invalid exp value': 'invalid exp claim: seconds since the epoch expected',
  'invalid nbf value': 'invalid nbf claim: seconds since the epoch expected',
};

type HttpRequest = { headers?: Record<string, unknown>; user?: unknown };

/**
 * Authenticates the request with this module's JWT strategy and puts the resulting TenantContext
 * (with the request id) into CLS. Like @nestjs/passport's AuthGuard, override `getRequest`,
 * `getResponse` or `handleRequest` to adapt it rather than forking it.
 */
@Injectable()
export class TenantAuthGuard implements CanActivate {
  constructor(
    private readonly cls: ClsService,
    @Inject(TenancyJwtStrategy) private readonly strategy: { readonly name: string },
    @Inject(RESOLVED_TENANCY_OPTIONS) private readonly options: ResolvedTenancyOptions,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = this.getRequest(context);
    const header = request?.headers?.authorization;
    if (typeof header === 'string' && header.length > this.options.jwt.maxTokenLength) {
      throw new UnauthorizedException('token too large');
    }
    const user = await new Promise<TenantContext>((resolve, reject) => {
      const authenticate = passport.authenticate(
        this.strategy.name,
        { session: false },
        (err: unknown, found: unknown, info: unknown) => {
          try {
            resolve(this.handleRequest(err, found, info, context));
          } catch (e) {
            reject(e instanceof Error ? e : new UnauthorizedException('invalid token'));
          }
        },
      ) as (req: unknown, res: unknown, next: (err?: unknown) => void) => void;
      authenticate(request, this.getResponse(context), (err?: unknown) =>
        reject(err instanceof Error ? err : new UnauthorizedException('invalid token')),
      );
    });
    request.user = Object.freeze({ ...user, requestId: this.cls.getId() });
    this.cls.set(CLS_TENANT_CONTEXT, request.user);
    return true;
  }

  /** The request to authenticate. */
  protected getRequest(context: ExecutionContext): HttpRequest {
    return context.switchToHttp().getRequest<HttpRequest>();
  }

  /** The response passed to passport. */
  protected getResponse(context: ExecutionContext): unknown {
    return context.switchToHttp().getResponse();
  }

  /** Turns passport's outcome into the context or a 401 whose message says what was wrong. */
  protected handleRequest(
    err: unknown,
    user: unknown,
    info: unknown,
    _context: ExecutionContext,
  ): TenantContext {
    if (err instanceof Error) throw err;
    if (err) throw new UnauthorizedException('invalid token');
    if (!user) {
      const raw = info instanceof Error ? info.message : typeof info === 'string' ? info : '';
      throw new UnauthorizedException(MESSAGES[raw] ?? 'invalid token');
    }
    return user as TenantContext;
  }
}
