import { ApolloDriver, ApolloDriverConfig } from '@nestjs/apollo';
import { Module } from '@nestjs/common';
import { GraphQLModule } from '@nestjs/graphql';
import { TenancyGraphQLModule, TenantGraphQLPlugin } from '@app/tenancy/graphql';
import { AccountsModule } from '../accounts/accounts.module';
import { DealsModule } from '../deals/deals.module';
import { ReportsModule } from '../reports/reports.module';
import { AccountsResolver } from './accounts.resolver';
import { DealsResolver } from './deals.resolver';
import { ReportsResolver } from './reports.resolver';
import { SalesLoaderFactory } from './sales.loaders';

/** The path sales-api serves GraphQL on. */
export const SALES_GRAPHQL_PATH = '/graphql';

/** The loader factory, in a module of its own so that the GraphQL module's factory can inject it. */
@Module({
  imports: [AccountsModule, DealsModule],
  providers: [SalesLoaderFactory],
  exports: [SalesLoaderFactory],
})
class SalesLoadersModule {}

/**
 * `/graphql` next to the REST routes: deals, accounts and the pipeline report through the same
 * services, one authentication and one tenant transaction per request (TenancyGraphQLModule).
 */
@Module({
  imports: [
    AccountsModule,
    DealsModule,
    ReportsModule,
    TenancyGraphQLModule.forRoot({ path: SALES_GRAPHQL_PATH, readOnlyQueries: true }),
    GraphQLModule.forRootAsync<ApolloDriverConfig>({
      driver: ApolloDriver,
      imports: [SalesLoadersModule],
      inject: [TenantGraphQLPlugin, SalesLoaderFactory],
      useFactory: (tenancy: TenantGraphQLPlugin, loaders: SalesLoaderFactory) => ({
        path: SALES_GRAPHQL_PATH,
        autoSchemaFile: true,
        sortSchema: true,
        graphiql: false,
        plugins: [tenancy],
        formatError: tenancy.formatError,
        includeStacktraceInErrorResponses: false,
        context: () => ({ loaders: loaders.create() }),
      }),
    }),
  ],
  providers: [DealsResolver, AccountsResolver, ReportsResolver],
})
export class SalesGraphQLModule {}
