import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DEFAULT_SETTING_NAMES } from '@app/tenancy';
// eslint-disable-next-line no-restricted-imports
import { settingsStatement } from '../../libs/tenancy/src/typeorm/rls-transaction.subscriber';
import { testUrl } from './test-env';

/** A connected pg client as the owner, the application role, or the superuser of the test database. */
export async function connect(who: 'owner' | 'app' | 'admin'): Promise<Client> {
  const url = testUrl(who === 'owner' ? 'ownerUrl' : who === 'app' ? 'appUrl' : 'adminUrl');
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

/**
 * Runs `fn` in a transaction whose tenant (and optionally user and role) settings are set LOCAL;
 * with `requestRoleFunction`, by the library's own settings statement, which also sets the role.
 */
export async function inTenant<T>(
  client: Client,
  tenantId: string | null,
  fn: () => Promise<T>,
  extra: { userId?: string; role?: string; requestRoleFunction?: string } = {},
): Promise<T> {
  await client.query('BEGIN');
  try {
    if (extra.requestRoleFunction) {
      const context = {
        tenantId: tenantId ?? '',
        userId: extra.userId ?? '',
        role: extra.role ?? '',
      };
      await client.query(
        ...settingsStatement(DEFAULT_SETTING_NAMES, context, extra.requestRoleFunction),
      );
    } else {
      await client.query(
        `SELECT set_config('app.tenant_id', $1, true), set_config('app.user_id', $2, true), set_config('app.role', $3, true)`,
        [tenantId ?? '', extra.userId ?? '', extra.role ?? ''],
      );
    }
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (e) {
    await client.query('ROLLBACK');
    throw e;
  }
}

/** Creates a tenant row as the owner and returns its id; the slug is made unique per call. */
export async function createTenant(
  owner: Client,
  slug: string,
  status: 'active' | 'suspended' = 'active',
): Promise<string> {
  const id = randomUUID();
  await owner.query(
    `INSERT INTO tenancy.tenants (id, slug, name, status) VALUES ($1, $2, $3, $4)`,
    [id, `${slug}-${id.slice(0, 8)}`, slug, status],
  );
  return id;
}

/** A lower-case random suffix for scratch schema, table and role names. */
export function suffix(): string {
  return randomUUID().replace(/-/g, '').slice(0, 10);
}
