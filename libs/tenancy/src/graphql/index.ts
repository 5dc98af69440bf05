// `nestjs-rls-tenancy/graphql`: tenant-scoped GraphQL (Apollo driver). A subpath of its own, so
// that the main entry point neither loads nor types against @apollo/server and graphql.

export { TenancyGraphQLModule, TenancyGraphQLOptions } from './tenancy-graphql.module';
export { TenantGraphQLMiddleware } from './tenant-graphql.middleware';
export { TenantGraphQLPlugin } from './tenant-graphql.plugin';
