/** The demo's tenants, with fixed ids (documented in README.md). */
export const DEMO_TENANTS = {
  acme: {
    id: '0a000000-0000-4000-8000-000000000001',
    slug: 'acme',
    name: 'Acme Corp',
    status: 'active',
  },
  globex: {
    id: '0b000000-0000-4000-8000-000000000002',
    slug: 'globex',
    name: 'Globex',
    status: 'active',
  },
  initech: {
    id: '0c000000-0000-4000-8000-000000000003',
    slug: 'initech',
    name: 'Initech',
    status: 'suspended',
  },
} as const;

/** Development-only signing secret, used when JWT_SECRET is not set. Never use it in production. */
export const DEV_JWT_SECRET = 'dev-only-insecure-secret-change-me-0123456789';

/** JWT_SECRET from the environment, or the clearly marked development default. */
export function jwtSecretFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env.JWT_SECRET?.trim() || DEV_JWT_SECRET;
}

/**
 * The library's `contextStatement` from TENANCY_CONTEXT_STATEMENT (`set-config`, the default, or
 * `set-local`, the form Citus propagates); CI runs the suites once in each.
 */
export function contextStatementFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): 'set-config' | 'set-local' {
  const value = env.TENANCY_CONTEXT_STATEMENT?.trim() || 'set-config';
  if (value !== 'set-config' && value !== 'set-local') {
    throw new Error(`TENANCY_CONTEXT_STATEMENT must be set-config or set-local, got "${value}"`);
  }
  return value;
}

/** APP_REPLICA_DATABASE_URLS from the environment (comma-separated), or none. */
export function replicaUrlsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const urls = (env.APP_REPLICA_DATABASE_URLS ?? '')
    .split(',')
    .map((url) => url.trim())
    .filter(Boolean);
  return urls.length ? urls : undefined;
}

/**
 * Where a demo app's TypeORM data source connects: `databaseUrl` alone, or TypeORM's
 * `replication` with `databaseUrl` as the primary and `replicaUrls` as the replicas.
 */
export function primaryAndReplicas(
  databaseUrl: string,
  replicaUrls?: string[],
): { url: string } | { replication: { master: { url: string }; slaves: { url: string }[] } } {
  if (!replicaUrls?.length) return { url: databaseUrl };
  return {
    replication: { master: { url: databaseUrl }, slaves: replicaUrls.map((url) => ({ url })) },
  };
}
