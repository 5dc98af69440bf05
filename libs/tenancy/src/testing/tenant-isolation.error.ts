import { TenancyError } from '../index';
import type { IsolationFinding } from './isolation-finding';

/** Thrown by {@link expectTenantIsolation} when the check found leaks or could not run. */
export class TenantIsolationError extends TenancyError {
  constructor(
    message: string,
    /** Every finding of the check, `info` included. */
    readonly findings: IsolationFinding[],
  ) {
    super(message);
  }
}
