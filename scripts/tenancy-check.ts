import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Client } from 'pg';
import { checkTenancyCatalog, formatCatalogFindings } from '@app/tenancy';
import { RunningPostgres, startPostgres, withCredentials } from '@app/dev-postgres';

const USAGE =
  'usage: npm run tenancy:check -- [--url <postgres url of the database to check>] [--app-role app_user] [--schema s ...]';

function args(name: string): string[] {
  return process.argv.flatMap((a, i) =>
    a === `--${name}` && process.argv[i + 1] ? [process.argv[i + 1]] : [],
  );
}

/**
 * Lists every way the database could leak across tenants (see checkTenancyCatalog) and exits 1 when
 * there is any. Checks --url, else DATABASE_URL, else the demo's embedded database.
 */
async function main(): Promise<number> {
  let server: RunningPostgres | undefined;
  let url = args('url')[0] ?? process.env.DATABASE_URL;
  if (!url) {
    const dataDir = resolve(process.env.DEMO_DATA_DIR ?? '.data/postgres');
    if (!existsSync(`${dataDir}/PG_VERSION`))
      throw new Error(`no database to check: run npm run demo first, or pass --url\n${USAGE}`);
    server = await startPostgres({
      purpose: 'demo',
      dataDir,
      port: Number(process.env.DEMO_PG_PORT ?? 54329),
    });
    url = withCredentials(server.adminUrl, {
      database: process.env.DEMO_DATABASE ?? 'tenancy_demo',
    });
  }
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const schemas = args('schema');
    const findings = await checkTenancyCatalog(client, {
      appRole: args('app-role')[0] ?? process.env.APP_DB_ROLE ?? 'app_user',
      schemas: schemas.length ? schemas : undefined,
    });
    console.log(formatCatalogFindings(findings));
    return findings.length ? 1 : 0;
  } finally {
    await client.end();
    await server?.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(2);
  },
);
