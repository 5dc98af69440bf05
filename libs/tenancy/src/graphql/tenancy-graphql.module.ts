import { Inject, MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { TenantGraphQLMiddleware } from './tenant-graphql.middleware';
import { TenantGraphQLPlugin } from './tenant-graphql.plugin';
import {
  ConfigurableModuleClass,
  TENANCY_GRAPHQL_OPTIONS,
  TenancyGraphQLOptions,
} from './tenancy-graphql.module-definition';

export { TenancyGraphQLOptions };

/**
 * Tenant-scoped GraphQL for the Apollo driver, next to `TenancyModule.forRoot()`: mounts
 * {@link TenantGraphQLMiddleware} on the GraphQL path (one authentication and one tenant
 * transaction per HTTP request) and provides {@link TenantGraphQLPlugin}, which the GraphQL
 * module's options must list in `plugins` (with its `formatError`). Global: register it once.
 */
@Module({
  providers: [TenantGraphQLMiddleware, TenantGraphQLPlugin],
  exports: [TenantGraphQLPlugin],
})
export class TenancyGraphQLModule extends ConfigurableModuleClass implements NestModule {
  constructor(@Inject(TENANCY_GRAPHQL_OPTIONS) private readonly options: TenancyGraphQLOptions) {
    super();
  }

  configure(consumer: MiddlewareConsumer): void {
    const { path } = { ...new TenancyGraphQLOptions(), ...this.options };
    consumer.apply(TenantGraphQLMiddleware).forRoutes({ path: path!, method: RequestMethod.ALL });
  }
}
