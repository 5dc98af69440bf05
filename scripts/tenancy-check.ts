import { checkTenancyCatalog, formatCatalogFindings } from '@app/tenancy';
import { withClient, withCredentials } from '@app/dev-postgres';
import { DemoServer, demoDatabaseName, openDemoServer } from './demo-database';

const USAGE =
  'usage: npm run tenancy:check -- [--url <postgres url of the database to check>] [--app-role app_user] [--schema s ...]';

function args(name: string): string[] {
  return process.argv.flatMap((a, i) =>
    a === `--${name}` && process.argv[i + 1] ? [process.argv[i + 1]] : [],
  );
}

/**
 * Lists every way the database could leak across tenants (see checkTenancyCatalog) and exits 1 when
 * there is any. Checks --url, else DATABASE_URL, else the demo's database (on the server of a
 * running `npm run demo`, or on its data directory).
 */
async function main(): Promise<number> {
  let server: DemoServer | undefined;
  let url = args('url')[0] ?? process.env.DATABASE_URL;
  if (!url) {
    server = await openDemoServer().catch((error: Error) => {
      throw new Error(`${error.message}\n${USAGE}`);
    });
    url = withCredentials(server.adminUrl, { database: demoDatabaseName() });
  }
  try {
    return await check(url);
  } finally {
    await server?.close();
  }
}

/** Runs the catalog check on the database at `url`; 1 when it finds anything. */
function check(url: string): Promise<number> {
  return withClient(url, async (client) => {
    const schemas = args('schema');
    const findings = await checkTenancyCatalog(client, {
      appRole: args('app-role')[0] ?? process.env.APP_DB_ROLE ?? 'app_user',
      schemas: schemas.length ? schemas : undefined,
    });
    console.log(formatCatalogFindings(findings));
    return findings.length ? 1 : 0;
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(2);
  },
);
