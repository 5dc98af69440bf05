import { QueryFailedError } from 'typeorm';

/** Whether `error` is PostgreSQL's refusal `code` (a SQLSTATE) on the constraint `constraint`. */
export function isConstraintViolation(error: unknown, code: string, constraint: string): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const driver = error.driverError as { code?: string; constraint?: string };
  return driver.code === code && driver.constraint === constraint;
}
