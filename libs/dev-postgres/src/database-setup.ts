import { Client } from 'pg';

/** Names and passwords of the two roles every environment uses. */
export interface DatabaseRoles {
  owner: string;
  ownerPassword: string;
  app: string;
  appPassword: string;
  platform: string;
  platformPassword: string;
}

/** The roles of the demo and the tests; overridable through the environment. */
export function defaultRoles(env: NodeJS.ProcessEnv = process.env): DatabaseRoles {
  return {
    owner: env.OWNER_DB_ROLE ?? 'tenancy_owner',
    ownerPassword: env.OWNER_DB_PASSWORD ?? 'tenancy_owner_dev_password',
    app: env.APP_DB_ROLE ?? 'app_user',
    appPassword: env.APP_DB_PASSWORD ?? 'app_user_dev_password',
    platform: env.PLATFORM_DB_ROLE ?? 'tenancy_platform',
    platformPassword: env.PLATFORM_DB_PASSWORD ?? 'tenancy_platform_dev_password',
  };
}

/** Returns `url` with another user, password and/or database. */
export function withCredentials(
  url: string,
  change: { user?: string; password?: string; database?: string },
): string {
  const u = new URL(url);
  if (change.user !== undefined) u.username = encodeURIComponent(change.user);
  if (change.password !== undefined) u.password = encodeURIComponent(change.password);
  if (change.database !== undefined) u.pathname = `/${encodeURIComponent(change.database)}`;
  return u.toString();
}

/** The three connection strings of a prepared database. */
export interface PreparedDatabase {
  database: string;
  adminUrl: string;
  ownerUrl: string;
  appUrl: string;
  platformUrl: string;
  roles: DatabaseRoles;
}

/** Runs `fn` with a pg client connected to `url`, and closes it afterwards. */
export async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

function ident(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`unsafe identifier: ${name}`);
  return `"${name}"`;
}

function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * As an administrator: makes sure the owner role (LOGIN, CREATEROLE, never superuser or BYPASSRLS),
 * the application role and the platform role (LOGIN, NOSUPERUSER, NOBYPASSRLS) exist with the given passwords, and
 * creates `database` owned by the owner when it does not exist. In the database, only the owner
 * may create objects in schema `public` and temporary tables (TEMPORARY is revoked from PUBLIC and
 * the two other roles, as the library's `ensureAppRole` does: a temporary table would outlive a
 * request on a pooled connection). Idempotent, and it brings an existing database to that state.
 */
export async function prepareDatabase(
  adminUrl: string,
  database: string,
  roles: DatabaseRoles = defaultRoles(),
): Promise<PreparedDatabase> {
  await withClient(adminUrl, async (c) => {
    for (const [role, password, extra] of [
      [roles.owner, roles.ownerPassword, 'CREATEROLE'],
      [roles.app, roles.appPassword, 'NOCREATEROLE NOINHERIT'],
      [roles.platform, roles.platformPassword, 'NOCREATEROLE'],
    ] as const) {
      const exists = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
      const verb = exists.rowCount ? 'ALTER' : 'CREATE';
      await c.query(
        `${verb} ROLE ${ident(role)} LOGIN NOSUPERUSER NOBYPASSRLS ${extra} PASSWORD ${literal(password)}`,
      );
    }
    const db = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!db.rowCount)
      await c.query(`CREATE DATABASE ${ident(database)} OWNER ${ident(roles.owner)}`);
  });
  await withClient(withCredentials(adminUrl, { database }), async (c) => {
    await c.query(`REVOKE ALL ON SCHEMA public FROM PUBLIC`);
    await c.query(`GRANT ALL ON SCHEMA public TO ${ident(roles.owner)}`);
    await c.query(
      `REVOKE TEMPORARY ON DATABASE ${ident(database)} FROM PUBLIC, ${ident(roles.app)}, ${ident(roles.platform)}`,
    );
  });
  return {
    database,
    adminUrl: withCredentials(adminUrl, { database }),
    ownerUrl: withCredentials(adminUrl, {
      user: roles.owner,
      password: roles.ownerPassword,
      database,
    }),
    appUrl: withCredentials(adminUrl, { user: roles.app, password: roles.appPassword, database }),
    platformUrl: withCredentials(adminUrl, {
      user: roles.platform,
      password: roles.platformPassword,
      database,
    }),
    roles,
  };
}

/** As an administrator: drops `database`, ending its open connections first. */
export async function dropDatabase(adminUrl: string, database: string): Promise<void> {
  await withClient(adminUrl, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${ident(database)} WITH (FORCE)`);
  });
}
