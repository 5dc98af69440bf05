/** An OpenAPI 3 document as `/docs-json` serves it (only the parts the checks read). */
interface OpenApiDocument {
  paths: Record<string, Record<string, { responses: Record<string, OpenApiResponse> }>>;
  components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
}

interface OpenApiResponse {
  content?: { 'application/json'?: { schema?: { $ref?: string; type?: string } } };
}

/**
 * Every operation of `doc` as `[METHOD path, status, schema]` for its success response: the
 * schema's name for a `$ref`, 'inline' for an inline schema, null when the response has no body.
 * An operation with no 2xx response at all comes out with status 'none'.
 */
export function successResponses(doc: OpenApiDocument): [string, string, string | null][] {
  return Object.entries(doc.paths).flatMap(([path, operations]) =>
    Object.entries(operations).map(([method, operation]): [string, string, string | null] => {
      const status = Object.keys(operation.responses).find((s) => /^2\d\d$/.test(s));
      if (!status) return [`${method.toUpperCase()} ${path}`, 'none', null];
      const schema = operation.responses[status].content?.['application/json']?.schema;
      const name = schema?.$ref?.replace('#/components/schemas/', '') ?? (schema ? 'inline' : null);
      return [`${method.toUpperCase()} ${path}`, status, name];
    }),
  );
}

/** The property names of a named schema of `doc`, sorted. */
export function schemaProperties(doc: OpenApiDocument, name: string): string[] {
  return Object.keys(doc.components.schemas[name]?.properties ?? {}).sort();
}
