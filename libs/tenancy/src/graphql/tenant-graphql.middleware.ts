import { Injectable, NestMiddleware } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import { TenantAuthGuard } from '../auth/tenant-auth.guard';
import { TenantContextService } from '../context/tenant-context.service';
import { TenantRunner } from '../context/tenant-runner.service';
import { CLS_GRAPHQL_REQUEST } from './graphql.internal-constants';
import { GraphQLRequestScope } from './graphql-request.scope';
import { RequestExecutionContext } from './request.execution-context';

type Next = (error?: unknown) => void;
type ClosableResponse = { once?(event: 'close', listener: () => void): unknown };

/**
 * Mounted by {@link TenancyGraphQLModule} on the GraphQL path: authenticates the request once
 * (TenantAuthGuard, with an `http` ExecutionContext of the request) and, when that succeeds, runs
 * the rest of the request, the whole GraphQL operation with its field resolvers and DataLoader
 * batches, inside one tenant scope that {@link TenantGraphQLPlugin} ends before the response is
 * sent. A refused request goes on without a scope: its @TenantScoped() resolvers get the same
 * refusal from the guard, public ones still answer, and no query runs as a tenant.
 */
@Injectable()
export class TenantGraphQLMiddleware implements NestMiddleware {
  constructor(
    private readonly cls: ClsService,
    private readonly guard: TenantAuthGuard,
    private readonly context: TenantContextService,
    private readonly runner: TenantRunner,
  ) {}

  use(req: unknown, res: unknown, next: Next): void {
    const run = () => {
      this.guard.canActivate(new RequestExecutionContext(req, res)).then(
        () => this.serveInScope(res, next),
        (refusal: unknown) => {
          this.cls.set(CLS_GRAPHQL_REQUEST, refusal);
          next();
        },
      );
    };
    if (this.cls.isActive()) run();
    else this.cls.run(run);
  }

  private serveInScope(res: unknown, next: Next): void {
    const tenant = this.context.require();
    let passed = false;
    const scope = GraphQLRequestScope.open((opened, work) =>
      this.runner.run(tenant, () => {
        this.cls.set(CLS_GRAPHQL_REQUEST, opened);
        passed = true;
        next();
        return work;
      }),
    );
    scope.outcome.then(undefined, (error: unknown) => {
      if (!passed) next(error);
    });
    (res as ClosableResponse).once?.('close', () => void scope.end(true));
  }
}
