import {
  CanActivate,
  ExecutionContext,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { CLS_ID, ClsService, ContextClsStoreMap } from 'nestjs-cls';
import passport from 'passport';
import { TenancyConfigurationError } from '../errors/tenancy.error';
import { TenantContext } from '../context/tenant-context.interface';
import { isRequestId } from '../context/tenant-context.validation';
import { RESOLVED_TENANCY_OPTIONS } from '../tenancy.providers';
import {
  CLS_TENANT_CONTEXT,
  CLS_TENANT_TOKEN,
  TENANCY_JWT_STRATEGY,
} from '../tenancy.internal-constants';
import { ResolvedTenancyOptions } from '../tenancy.options';
import { messageMetadata } from './message-metadata';
import { markMessageRefusal } from './message-refusal';
import { TenantClaims, verifyTenantClaims } from './tenant-claims.verify';
import { TenantStatusService } from './tenant-status.service';

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

/** How the resolved fields are named in 401/403 messages of the `resolveTenantContext` path. */
const RESOLVED_LABELS = {
  tenantId: 'resolved tenantId',
  userId: 'resolved userId',
  role: 'resolved role',
};

type HttpRequest = { headers?: Record<string, unknown>; user?: unknown; raw?: object };

/** The authentication outcome of each request, per module instance (its resolved options). */
const AUTHENTICATED = new WeakMap<object, Map<ResolvedTenancyOptions, Promise<TenantContext>>>();

/** The GraphQL context of a resolver call (its third argument), read without @nestjs/graphql. */
function graphqlContext(
  context: ExecutionContext,
): { req?: HttpRequest; res?: unknown } | undefined {
  return context.getArgByIndex(2);
}

/**
 * Authenticates the request, with this module's JWT strategy or the `resolveTenantContext` option,
 * and puts the resulting TenantContext (with the request id) into CLS. Like @nestjs/passport's
 * AuthGuard, override `getRequest`, `getResponse` or `handleRequest` to adapt it rather than
 * forking it.
 */
@Injectable()
export class TenantAuthGuard implements CanActivate {
  constructor(
    private readonly cls: ClsService,
    @Inject(TENANCY_JWT_STRATEGY) private readonly strategy: { readonly name: string } | null,
    @Inject(RESOLVED_TENANCY_OPTIONS) private readonly options: ResolvedTenancyOptions,
    private readonly statuses: TenantStatusService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'rpc') return this.activate(context);
    this.enterMessageScope(context);
    try {
      return await this.activate(context);
    } catch (error) {
      markMessageRefusal(error);
      throw error;
    }
  }

  private async activate(context: ExecutionContext): Promise<boolean> {
    const request = this.getRequest(context);
    request.user = await this.authenticateOnce(request, context);
    this.cls.set(CLS_TENANT_CONTEXT, request.user);
    if (!this.options.resolveTenantContext) this.cls.set(CLS_TENANT_TOKEN, bearerToken(request));
    return true;
  }

  /**
   * A broker message has no CLS middleware: like nestjs-cls's ClsGuard, enter a context of its own
   * (the one a ClsGuard made for this same message, when the app mounted one; never a previous
   * message's), with the message's `x-request-id` header or a fresh uuid as its id.
   */
  private enterMessageScope(context: ExecutionContext): void {
    if (ContextClsStoreMap.get(context)) {
      this.cls.enter({ ifNested: 'reuse' });
    } else {
      this.cls.enterWith({});
      ContextClsStoreMap.set(context, this.cls.get());
    }
    const { requestId } = messageMetadata(context);
    this.cls.setIfUndefined(CLS_ID, isRequestId(requestId) ? requestId : randomUUID());
  }

  /**
   * The request to authenticate. For a broker message (`rpc`), a request-like object whose
   * `authorization` header is the message's own (see `messageMetadata`).
   */
  protected getRequest(context: ExecutionContext): HttpRequest {
    if (context.getType() === 'rpc') {
      const { authorization } = messageMetadata(context);
      return { headers: authorization === undefined ? {} : { authorization } };
    }
    if (context.getType<string>() === 'graphql') return graphqlContext(context)?.req ?? {};
    return context.switchToHttp().getRequest<HttpRequest>();
  }

  /** The response passed to passport. */
  protected getResponse(context: ExecutionContext): unknown {
    if (context.getType<string>() === 'graphql') return graphqlContext(context)?.res;
    return context.switchToHttp().getResponse();
  }

  /**
   * One authentication per request and module instance: the GraphQL middleware and every resolver
   * of that request's operation (each with a guard instance of its own module) share its outcome,
   * the context or the refusal, so 50 aliased fields cost one token check. Keyed by the request
   * object (Fastify's raw request when wrapped).
   */
  private authenticateOnce(
    request: HttpRequest,
    context: ExecutionContext,
  ): Promise<TenantContext> {
    const key =
      typeof request === 'object' && request !== null ? (request.raw ?? request) : undefined;
    let outcomes = key && AUTHENTICATED.get(key);
    if (key && !outcomes) AUTHENTICATED.set(key, (outcomes = new Map()));
    const known = outcomes && outcomes.get(this.options);
    if (known) return known;
    const outcome = (async () => {
      const user = this.options.resolveTenantContext
        ? await this.resolve(this.options.resolveTenantContext, context)
        : await this.authenticate(request, context);
      return Object.freeze({ ...user, requestId: this.cls.getId() });
    })();
    outcomes?.set(this.options, outcome);
    return outcome;
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

  /** The built-in path: the bearer token, verified by this module's JWT strategy. */
  private async authenticate(request: HttpRequest, context: ExecutionContext) {
    const { strategy, options } = this;
    if (!strategy || !options.jwt) {
      throw new TenancyConfigurationError('TenancyModule has neither jwt nor resolveTenantContext');
    }
    const header = request?.headers?.authorization;
    if (typeof header === 'string' && header.length > options.jwt.maxTokenLength) {
      throw new UnauthorizedException('token too large');
    }
    return new Promise<TenantContext>((resolve, reject) => {
      const authenticate = passport.authenticate(
        strategy.name,
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
  }

  /** The app's own path: `resolveTenantContext`, then the checks the JWT path applies. */
  private async resolve(
    resolver: NonNullable<ResolvedTenancyOptions['resolveTenantContext']>,
    context: ExecutionContext,
  ): Promise<TenantContext> {
    let claims: TenantClaims | undefined;
    try {
      claims = await resolver(context);
    } catch (error) {
      throw isAuthRefusal(error) ? error : new UnauthorizedException('not authenticated');
    }
    if (claims === undefined || claims === null) {
      throw new UnauthorizedException('not authenticated');
    }
    return verifyTenantClaims(claims, RESOLVED_LABELS, this.options.roles, this.statuses);
  }
}

/** The token of a verified `Authorization: Bearer <token>` header. */
function bearerToken(request: HttpRequest): string | undefined {
  const header = request?.headers?.authorization;
  return typeof header === 'string' ? /^bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
}

/** True for a 401 or 403 HttpException: a refusal the resolver chose, passed on as it is. */
function isAuthRefusal(error: unknown): error is HttpException {
  return (
    error instanceof HttpException &&
    [HttpStatus.UNAUTHORIZED, HttpStatus.FORBIDDEN].includes(error.getStatus())
  );
}
