import { defaultRoles, redact, withClient, withCredentials } from '@app/dev-postgres';
import { MIGRATIONS } from '../migrations';
import { migrateDown, migrateUp } from '../migrations/run-migrations';
import { openDemoDatabase } from './demo-database';

const USAGE = `usage: npm run migrate -- [up | down | show] [--url <owner's postgres url>]
  up    runs every pending migration (the default)
  down  reverts the last executed migration, one step
  show  lists the migrations, [X] executed and [ ] pending
Migrates --url, else DATABASE_URL, connecting as the owner role they name; else the demo's database.`;

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

/** Refuses a superuser: the owner must own every object and is never a superuser. */
async function assertNotSuperuser(url: string): Promise<void> {
  const role = await withClient(url, async (c) => {
    const r = await c.query<{ name: string; superuser: boolean }>(
      `SELECT current_user AS name, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user`,
    );
    return r.rows[0];
  });
  if (role.superuser) {
    const owner = defaultRoles().owner;
    const ownerUrl = redact(withCredentials(url, { user: owner, password: 'password' }));
    throw new Error(
      `${redact(url)} connects as the superuser "${role.name}": migrations run as the owner role, ` +
        `which owns every object and is never a superuser; pass its URL with --url or DATABASE_URL, e.g. ${ownerUrl}`,
    );
  }
}

/** The names of the executed migrations, oldest first (none when TypeORM's table is missing). */
async function executedMigrations(url: string): Promise<string[]> {
  return withClient(url, async (c) => {
    const table = await c.query(`SELECT to_regclass('public.typeorm_migrations') AS t`);
    if (!table.rows[0].t) return [];
    const r = await c.query<{ name: string }>(
      `SELECT name FROM public.typeorm_migrations ORDER BY id`,
    );
    return r.rows.map((row) => row.name);
  });
}

async function run(command: string, url: string): Promise<void> {
  switch (command) {
    case 'up': {
      const ran = await migrateUp(url);
      console.log(ran.length ? `Migrations run: ${ran.join(', ')}` : 'Migrations: up to date');
      return;
    }
    case 'down': {
      const last = (await executedMigrations(url)).at(-1);
      if (!last) console.log('Nothing to revert');
      else if (await migrateDown(url, 1)) console.log(`Reverted: ${last}`);
      return;
    }
    case 'show': {
      const executed = await executedMigrations(url);
      const known = MIGRATIONS.map((m) => m.name);
      for (const name of known) console.log(`[${executed.includes(name) ? 'X' : ' '}] ${name}`);
      for (const name of executed.filter((n) => !known.includes(n)))
        console.log(`[?] ${name} (executed, but not in migrations/index.ts)`);
      return;
    }
    default:
      throw new Error(USAGE);
  }
}

/** Runs, reverts or lists the shared database's migrations as the owner role. */
async function main(): Promise<void> {
  const [command = 'up', ...extra] = process.argv
    .slice(2)
    .filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'));
  if (extra.length || process.argv.includes('--help')) throw new Error(USAGE);
  if (!['up', 'down', 'show'].includes(command))
    throw new Error(`unknown command "${command}"\n${USAGE}`);
  const url = option('url') ?? process.env.DATABASE_URL;
  if (url) {
    await assertNotSuperuser(url);
    console.error(`Database: ${redact(url)}`);
    return run(command, url);
  }
  const demo = await openDemoDatabase().catch((error: Error) => {
    throw new Error(`${error.message}\n${USAGE}`);
  });
  try {
    console.error(`Database: the demo's, ${redact(demo.db.ownerUrl)}`);
    await run(command, demo.db.ownerUrl);
  } finally {
    await demo.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(2);
  },
);
