import { CallHandler, ExecutionContext, Injectable, Logger, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Observable, Subscription } from 'rxjs';
import { TenantContextService } from '../context/tenant-context.service';
import { TenantRunner } from '../context/tenant-runner.service';
import { TenantStreamAbandonedError } from '../errors/tenancy-errors';
import { TenancyConfigurationError } from '../errors/tenancy.error';
import type { TenantScopedOptions } from '../decorators/tenant-scoped.decorator';
import { TENANT_SCOPE_METADATA } from '../tenancy.internal-constants';
import {
  TenantScopeRunOptions,
  TenantTransactionFactory,
} from '../typeorm/tenant-transaction.factory';

/** `GET /path (Controller.handler)` for HTTP, `Controller.handler` otherwise. */
function routeOf(context: ExecutionContext): string {
  const handler = `${context.getClass().name}.${context.getHandler().name}`;
  if (context.getType() !== 'http') return handler;
  const req = context.switchToHttp().getRequest<{ method?: string; url?: string }>();
  return `${req?.method ?? ''} ${req?.url ?? ''} (${handler})`;
}

const READ_ONLY: TenantScopeRunOptions = Object.freeze({ readOnly: true });

/**
 * Runs the handler as the authenticated tenant in one lazy transaction, open from the subscription
 * to the handler's result until that result ends: committed when it completes (for a promise,
 * before the response is sent) and rolled back when it throws or errors. A stream (an @Sse()
 * handler's Observable) stays one: each value passes on as it is emitted, so before the commit,
 * and a subscriber that leaves early (the client went away) ends it, which commits. On a broker
 * message (`rpc`) every value is held until the commit, so a reply never precedes it. A handler
 * that sends no query opens no transaction and costs no round trip. A handler marked
 * `@TenantScoped({ readOnly: true })` runs read-only, on a replica when there is one.
 */
@Injectable()
export class TenantTransactionInterceptor implements NestInterceptor {
  private readonly logger = new Logger('Tenancy');
  private readonly optionsOf = new WeakMap<
    object,
    WeakMap<object, TenantScopeRunOptions | undefined>
  >();

  constructor(
    private readonly context: TenantContextService,
    private readonly runner: TenantRunner,
    private readonly transactions: TenantTransactionFactory,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const tenant = this.context.require();
    if (context.getType<string>() === 'graphql') return this.joinRequestScope(next);
    // A broker's server sends each value as a reply when it is emitted: hold them until the
    // commit, so that no reply (or acknowledgement after it) ever precedes the commit.
    const holdUntilCommit = context.getType() === 'rpc';
    const held: unknown[] = [];
    const options = this.scopeOptions(context);
    return new Observable((subscriber) => {
      let handled: Subscription | undefined;
      let end: (() => void) | undefined;
      this.runner
        .run(
          tenant,
          () =>
            new Promise<void>((resolve, reject) => {
              end = resolve;
              handled = next.handle().subscribe({
                next: (value) => (holdUntilCommit ? held.push(value) : subscriber.next(value)),
                error: reject,
                complete: resolve,
              });
            }),
          options,
        )
        .then(
          () => {
            held.forEach((value) => subscriber.next(value));
            subscriber.complete();
          },
          (error: unknown) => {
            if (error instanceof TenantStreamAbandonedError) {
              this.logger.error(`${routeOf(context)}: ${error.message}`);
            }
            subscriber.error(error);
          },
        );
      return () => {
        handled?.unsubscribe();
        end?.();
      };
    });
  }

  /**
   * The scope options of the handler (its own @TenantScoped() or @TenantReadOnly() over its
   * controller's), read from the metadata once per controller and handler.
   */
  private scopeOptions(context: ExecutionContext): TenantScopeRunOptions | undefined {
    const controller = context.getClass();
    const handler = context.getHandler();
    let handlers = this.optionsOf.get(controller);
    if (!handlers) this.optionsOf.set(controller, (handlers = new WeakMap()));
    if (handlers.has(handler)) return handlers.get(handler);
    const scoped = this.reflector.getAllAndOverride<TenantScopedOptions | undefined>(
      TENANT_SCOPE_METADATA,
      [handler, controller],
    );
    const options = scoped?.readOnly ? READ_ONLY : undefined;
    handlers.set(handler, options);
    return options;
  }

  /**
   * A GraphQL resolver runs in the one tenant scope of its whole request (opened by the GraphQL
   * middleware of `nestjs-rls-tenancy/graphql`, ended by its Apollo plugin), shared with the
   * field resolvers and DataLoader batches that run after it; without that scope, it refuses.
   */
  private joinRequestScope(next: CallHandler): Observable<unknown> {
    if (!this.transactions.current()) {
      throw new TenancyConfigurationError(
        'a GraphQL resolver runs in the tenant scope of its whole request: import TenancyGraphQLModule.forRoot({ path }) from nestjs-rls-tenancy/graphql and add its TenantGraphQLPlugin to the GraphQL module',
      );
    }
    return next.handle();
  }
}
