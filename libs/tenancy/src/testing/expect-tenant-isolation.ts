import { IsolationFinding } from './isolation-finding';
import { checkTenantIsolation, TenantIsolationTarget } from './tenant-isolation.check';
import { TenantIsolationError } from './tenant-isolation.error';
import { TenantIsolationOptions } from './tenant-isolation.options';

/** Formats findings one per line (`[severity] [code] message`), for logs and test failures. */
export function formatIsolationFindings(findings: IsolationFinding[]): string {
  if (!findings.length) return 'tenant isolation check: no findings';
  return [
    `tenant isolation check: ${findings.length} finding(s)`,
    ...findings.map((f) => `  [${f.severity}] [${f.code}] ${f.message}`),
  ].join('\n');
}

/**
 * Runs {@link checkTenantIsolation} and throws a {@link TenantIsolationError} listing every `leak`,
 * `error` and (unless `allowIncomplete`) `incomplete` finding; resolves with all findings (`info`
 * ones included) when there is none. Works in any test runner:
 * `await expectTenantIsolation(dataSource, { a, b })` inside a test.
 */
export async function expectTenantIsolation(
  target: TenantIsolationTarget,
  options: TenantIsolationOptions,
): Promise<IsolationFinding[]> {
  const findings = await checkTenantIsolation(target, options);
  const failures = findings.filter(
    (f) => f.severity !== 'info' && (f.severity !== 'incomplete' || !options.allowIncomplete),
  );
  if (failures.length) {
    throw new TenantIsolationError(
      `tenants are not isolated: ${formatIsolationFindings(failures).replace(/^tenant isolation check: /, '')}`,
      findings,
    );
  }
  return findings;
}
