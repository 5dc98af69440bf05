/** Environment variables through which the global setup hands the test database to the suites. */
export const TEST_ENV = {
  serverAdminUrl: 'TENANCY_TEST_SERVER_ADMIN_URL',
  adminUrl: 'TENANCY_TEST_ADMIN_URL',
  ownerUrl: 'TENANCY_TEST_OWNER_URL',
  appUrl: 'TENANCY_TEST_APP_URL',
  database: 'TENANCY_TEST_DATABASE',
} as const;

/** Reads one of the URLs the global setup published; fails loudly outside `npm test`. */
export function testUrl(key: keyof typeof TEST_ENV): string {
  const value = process.env[TEST_ENV[key]];
  if (!value) throw new Error(`${TEST_ENV[key]} is not set: run the suite with npm test`);
  return value;
}
