/** Thrown into the scope's work to roll it back; never leaves {@link GraphQLRequestScope.end}. */
class GraphQLRollback extends Error {
  override readonly name = 'GraphQLRollback';
}

/**
 * Internal: the tenant scope of one GraphQL HTTP request, opened by `TenantGraphQLMiddleware`
 * around the rest of the request and ended once, by `TenantGraphQLPlugin` before the response is
 * sent (or, as a safety net, when the response closes without it: rolled back).
 */
export class GraphQLRequestScope {
  /** Set by the plugin when an operation starts: one operation per scope. */
  operationStarted = false;
  private finish?: (rollback: boolean) => void;
  private ended?: Promise<void>;
  private endResult?: Promise<void>;

  /**
   * Opens a scope with `open(scope, work)`, which must run the rest of the request inside a tenant
   * scope that waits for `work`; its outcome is what {@link end} returns.
   */
  static open(
    open: (scope: GraphQLRequestScope, work: Promise<void>) => Promise<void>,
  ): GraphQLRequestScope {
    const scope = new GraphQLRequestScope();
    const work = new Promise<void>((resolve, reject) => {
      scope.finish = (rollback) =>
        rollback ? reject(new GraphQLRollback('rolled back')) : resolve();
    });
    work.catch(() => undefined);
    scope.ended = open(scope, work).catch((error: unknown) => {
      if (!(error instanceof GraphQLRollback)) throw error;
    });
    scope.ended.catch(() => undefined);
    return scope;
  }

  /** Settles when the scope has ended: its commit, or the error that ended it. */
  get outcome(): Promise<void> {
    return this.ended ?? Promise.resolve();
  }

  /** Ends the scope (commit, or rollback) and waits for it; later calls get the first outcome. */
  end(rollback: boolean): Promise<void> {
    this.endResult ??= (this.finish?.(rollback), this.ended ?? Promise.resolve());
    return this.endResult;
  }
}
