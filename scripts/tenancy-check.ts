import { runCli } from '@app/tenancy';
import { withCredentials } from '@app/dev-postgres';
import { demoDatabaseName, openDemoServer } from './demo-database';

const USAGE =
  'usage: npm run tenancy:check -- [--url <postgres url of the database to check>] [--app-role app_user] [--schema s ...] [--format human|json|sarif]';

/** True when `argv` names option `--name` (as `--name value` or `--name=value`). */
function given(argv: string[], name: string): boolean {
  return argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`));
}

/**
 * `nestjs-rls-tenancy check` (see runCli) on --url, else DATABASE_URL, else the demo's database
 * (on the server of a running `npm run demo`, or on its data directory); `APP_DB_ROLE` is the
 * default application role. Exits 0 when clean, 1 with findings, 2 when it could not run.
 */
async function main(argv: string[]): Promise<number> {
  const args = ['check', ...argv];
  if (process.env.APP_DB_ROLE && !given(argv, 'app-role')) {
    args.push('--app-role', process.env.APP_DB_ROLE);
  }
  if (
    given(argv, 'url') ||
    given(argv, 'help') ||
    argv.includes('-h') ||
    process.env.DATABASE_URL
  ) {
    return runCli(args);
  }
  const server = await openDemoServer().catch((error: Error) => {
    throw new Error(`${error.message}\n${USAGE}`);
  });
  try {
    return await runCli([
      ...args,
      '--url',
      withCredentials(server.adminUrl, { database: demoDatabaseName() }),
    ]);
  } finally {
    await server.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 2;
  },
);
