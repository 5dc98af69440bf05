import { ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { ClsService } from 'nestjs-cls';
import { TenantContext } from '../context/tenant-context.interface';
import { RESOLVED_TENANCY_OPTIONS } from '../tenancy.providers';
import { CLS_TENANT_CONTEXT, TENANCY_JWT_STRATEGY } from '../tenancy.internal-constants';
import { ResolvedTenancyOptions } from '../tenancy-options.interface';

const MESSAGES: Record<string, string> = {
  'No auth token': 'missing bearer token',
  'jwt expired': 'token expired',
  'jwt not active': 'token not yet valid',
  'invalid signature': 'invalid token signature',
  'jwt malformed': 'malformed token',
  'invalid algorithm': 'token algorithm not accepted',
  'jwt signature is required': 'unsigned tokens are not accepted',
  'invalid token': 'malformed token',
};

/**
 * Authenticates the request with the library's JWT strategy and puts the resulting TenantContext
 * into CLS. Override `getRequest` or `handleRequest` (as with @nestjs/passport's AuthGuard) to adapt it.
 */
@Injectable()
export class TenantAuthGuard extends AuthGuard(TENANCY_JWT_STRATEGY) {
  constructor(
    private readonly cls: ClsService,
    @Inject(RESOLVED_TENANCY_OPTIONS) private readonly options: ResolvedTenancyOptions,
  ) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = this.getRequest(context);
    const header = request?.headers?.authorization;
    if (typeof header === 'string' && header.length > this.options.jwt.maxTokenLength) {
      throw new UnauthorizedException('token too large');
    }
    await super.canActivate(context);
    request.user = Object.freeze({
      ...(request.user as TenantContext),
      requestId: this.cls.getId(),
    });
    this.cls.set(CLS_TENANT_CONTEXT, request.user);
    return true;
  }

  /** Turns passport's outcome into the context or a 401 whose message says what was wrong. */
  override handleRequest<T = TenantContext>(err: unknown, user: unknown, info: unknown): T {
    if (err instanceof Error) throw err;
    if (err) throw new UnauthorizedException('invalid token');
    if (!user) {
      const raw = info instanceof Error ? info.message : typeof info === 'string' ? info : '';
      throw new UnauthorizedException(MESSAGES[raw] ?? 'invalid token');
    }
    return user as T;
  }
}
