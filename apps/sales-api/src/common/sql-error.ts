import { QueryFailedError } from 'typeorm';

/** The SQLSTATE and constraint of a failed query, when the error came from PostgreSQL. */
export function sqlError(error: unknown): { code?: string; constraint?: string } {
  if (!(error instanceof QueryFailedError)) return {};
  const driver = error.driverError as { code?: string; constraint?: string };
  return { code: driver.code, constraint: driver.constraint };
}
