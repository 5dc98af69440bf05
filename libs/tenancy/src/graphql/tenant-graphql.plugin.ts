import type {
  ApolloServerPlugin,
  BaseContext,
  GraphQLRequestContextWillSendResponse,
  GraphQLRequestListener,
} from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { HttpException, Inject, Injectable, Logger } from '@nestjs/common';
import { FILTER_CATCH_EXCEPTIONS } from '@nestjs/common/constants';
import type { GraphQLFormattedError } from 'graphql';
import { GraphQLError, OperationTypeNode } from 'graphql';
import { ClsService } from 'nestjs-cls';
import { TenancyConfigurationError } from '../errors/tenancy.error';
import { TenancyExceptionFilter } from '../http/tenancy-exception.filter';
import { TenantTransactionFactory } from '../typeorm/tenant-transaction.factory';
import { CLS_GRAPHQL_REQUEST } from './graphql.internal-constants';
import { GraphQLRequestScope } from './graphql-request.scope';
import {
  TENANCY_GRAPHQL_OPTIONS,
  TenancyGraphQLOptions,
} from './tenancy-graphql.module-definition';

/** The GraphQL error code of each HTTP status; any other 4xx is BAD_REQUEST, any 5xx INTERNAL_SERVER_ERROR. */
const CODES: Record<number, string> = {
  400: 'BAD_USER_INPUT',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  429: 'TOO_MANY_REQUESTS',
  503: 'SERVICE_UNAVAILABLE',
};

type Constructor = abstract new (...args: never[]) => unknown;

/**
 * The Apollo Server plugin of tenant-scoped GraphQL (add it to the GraphQL module's `plugins`, and
 * its `formatError` as the module's `formatError`). For each operation it ends the request's
 * tenant scope, opened by `TenantGraphQLMiddleware`, in `willSendResponse`, that is after every
 * resolver, field resolver and DataLoader batch has run and before the response is sent: committed
 * when the operation has no error, rolled back when it has one (a mutation's `data` then becomes
 * `null`: nothing it did was kept). A commit that fails turns the response into that error. With
 * `readOnlyQueries`, a query operation's scope is made read-only (and placed on a replica when
 * there is one) once the operation is resolved, before its first resolver.
 */
@Injectable()
export class TenantGraphQLPlugin implements ApolloServerPlugin {
  private readonly logger = new Logger('Tenancy');

  constructor(
    private readonly cls: ClsService,
    private readonly filter: TenancyExceptionFilter,
    private readonly transactions: TenantTransactionFactory,
    @Inject(TENANCY_GRAPHQL_OPTIONS) private readonly options: TenancyGraphQLOptions,
  ) {}

  async requestDidStart(): Promise<GraphQLRequestListener<BaseContext>> {
    const request: unknown = this.cls.isActive() ? this.cls.get(CLS_GRAPHQL_REQUEST) : undefined;
    if (request === undefined) {
      throw new TenancyConfigurationError(
        'TenantGraphQLMiddleware did not run for this GraphQL request: TenancyGraphQLModule.forRoot({ path }) must name the path of the GraphQL module',
      );
    }
    if (!(request instanceof GraphQLRequestScope)) return {};
    if (request.operationStarted) {
      throw new TenancyConfigurationError(
        "one GraphQL operation per HTTP request: batched requests would share one tenant scope; leave Apollo Server's allowBatchedHttpRequests off",
      );
    }
    request.operationStarted = true;
    return {
      didResolveOperation: async (context) => {
        if (
          this.options.readOnlyQueries &&
          context.operation?.operation === OperationTypeNode.QUERY
        ) {
          await this.transactions.makeCurrentScopeReadOnly();
        }
      },
      willSendResponse: (context) => this.endScope(request, context),
    };
  }

  /**
   * Apollo Server's `formatError` for tenant-scoped GraphQL: every error leaves as a message and an
   * `extensions.code`, never a stack trace. HTTP exceptions (the guards' 401 and 403, a service's
   * 404, a pipe's 400) become UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, BAD_USER_INPUT (409 CONFLICT,
   * 503 SERVICE_UNAVAILABLE, other 5xx INTERNAL_SERVER_ERROR); library and database errors are
   * first mapped by `TenancyExceptionFilter` as on REST routes; GraphQL's own errors (parse,
   * validation) keep their code; anything else is logged and leaves as `Internal server error`.
   */
  readonly formatError = (
    formatted: GraphQLFormattedError,
    error: unknown,
  ): GraphQLFormattedError => {
    const { message, code } = this.describe(formatted, unwrapResolverError(error));
    return {
      message,
      ...(formatted.locations && { locations: formatted.locations }),
      ...(formatted.path && { path: formatted.path }),
      extensions: { code },
    };
  };

  private describe(
    formatted: GraphQLFormattedError,
    original: unknown,
  ): { message: string; code: string } {
    const exception = this.catchesToo(original) ? this.filter.toHttpException(original) : original;
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const code = CODES[status] ?? (status >= 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_REQUEST');
      return { message: messageOf(exception), code };
    }
    if (original instanceof GraphQLError || original === undefined) {
      const code = formatted.extensions?.code;
      return {
        message: formatted.message,
        code: typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR',
      };
    }
    this.logger.error(original instanceof Error ? original.stack : JSON.stringify(original));
    return { message: 'Internal server error', code: 'INTERNAL_SERVER_ERROR' };
  }

  /** Whether `TenancyExceptionFilter` (or the subclass registered) maps this error, by its @Catch(). */
  private catchesToo(error: unknown): boolean {
    const types: Constructor[] =
      Reflect.getMetadata(FILTER_CATCH_EXCEPTIONS, this.filter.constructor) ?? [];
    return types.some((type) => error instanceof type);
  }

  private async endScope(
    scope: GraphQLRequestScope,
    context: GraphQLRequestContextWillSendResponse<BaseContext>,
  ): Promise<void> {
    const failed = Boolean(context.errors?.length) || context.response.body.kind !== 'single';
    const body = context.response.body;
    try {
      await scope.end(failed);
    } catch (error) {
      const formatted = this.formatError({ message: 'commit failed' }, error);
      if (body.kind === 'single') body.singleResult = { data: null, errors: [formatted] };
      return;
    }
    if (
      failed &&
      context.operation?.operation === OperationTypeNode.MUTATION &&
      body.kind === 'single'
    ) {
      body.singleResult = { ...body.singleResult, data: null };
    }
  }
}

/** The message of an HttpException: its response's `message` (joined when a list), else its own. */
function messageOf(exception: HttpException): string {
  const response = exception.getResponse() as { message?: unknown } | string;
  const message = typeof response === 'object' ? response?.message : response;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : exception.message;
}
