/** CLS key of the current GraphQL request's {@link GraphQLRequestScope} (or its refusal). */
export const CLS_GRAPHQL_REQUEST = Symbol('tenancy.graphql-request');
