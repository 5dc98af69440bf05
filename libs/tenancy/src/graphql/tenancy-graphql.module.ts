import {
  ConfigurableModuleBuilder,
  Inject,
  MiddlewareConsumer,
  Module,
  NestModule,
  RequestMethod,
} from '@nestjs/common';
import { TenantGraphQLMiddleware } from './tenant-graphql.middleware';
import { TenantGraphQLPlugin } from './tenant-graphql.plugin';

/** Options of {@link TenancyGraphQLModule}. */
export class TenancyGraphQLOptions {
  /** The GraphQL module's `path` (with the global prefix, if the app has one). Default: `'/graphql'`. */
  path?: string = '/graphql';
}

const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN: TENANCY_GRAPHQL_OPTIONS } =
  new ConfigurableModuleBuilder<TenancyGraphQLOptions>({ moduleName: 'TenancyGraphQL' })
    .setClassMethodName('forRoot')
    .setExtras({}, (definition) => ({ ...definition, global: true }))
    .build();

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
