import { TenancyError } from '../errors/tenancy.error';

/**
 * Thrown by {@link explainRowAccess} when it cannot explain: an unknown table or key column, a key
 * that matches more than one row, or a connection that cannot read the row past row-level security.
 */
export class RowAccessExplainError extends TenancyError {}
