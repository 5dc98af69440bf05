import { ConfigurableModuleBuilder } from '@nestjs/common';

/** Options of `TenancyGraphQLModule`. */
export class TenancyGraphQLOptions {
  /** The GraphQL module's `path` (with the global prefix, if the app has one). Default: `'/graphql'`. */
  path?: string = '/graphql';
  /**
   * Run query operations (not mutations) read-only, and on a read replica when the data source has
   * `replication` and the replicas can serve (the `replicas` option of `TenancyModule`): the
   * request's scope is placed once Apollo has resolved the operation, before any resolver runs. A
   * write in a query then fails (`TenantReadOnlyScopeError`). Default: `false` (every operation on
   * the primary, read-write).
   */
  readOnlyQueries?: boolean = false;
}

export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN: TENANCY_GRAPHQL_OPTIONS } =
  new ConfigurableModuleBuilder<TenancyGraphQLOptions>({ moduleName: 'TenancyGraphQL' })
    .setClassMethodName('forRoot')
    .setExtras({}, (definition) => ({ ...definition, global: true }))
    .build();
