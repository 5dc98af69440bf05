import { randomUUID } from 'node:crypto';
import { DEMO_TENANTS, jwtSecretFromEnv, signToken } from '@app/demo-kit';

const USAGE =
  'usage: npm run token -- --tenant <slug|uuid> --role <role> [--user <uuid>] [--expires 12h]';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

/** Prints a freshly signed token (JWT_SECRET, or the development default) for a tenant and role. */
function main(): void {
  const tenant = arg('tenant');
  const role = arg('role');
  const user = arg('user') ?? randomUUID();
  if (!tenant || !role) throw new Error(USAGE);
  const known = (DEMO_TENANTS as Record<string, { id: string }>)[tenant];
  const tenantId = known?.id ?? (UUID.test(tenant) ? tenant : undefined);
  if (!tenantId)
    throw new Error(
      `unknown tenant "${tenant}": use acme, globex, initech or a tenant uuid\n${USAGE}`,
    );
  if (!UUID.test(user)) throw new Error(`--user must be a uuid\n${USAGE}`);
  const expires = (arg('expires') ?? '12h') as `${number}h`;
  process.stdout.write(
    `${signToken(jwtSecretFromEnv(), { tenantId, userId: user, role }, expires)}\n`,
  );
}

try {
  main();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(2);
}
