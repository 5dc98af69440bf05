import { createWriteStream, WriteStream } from 'node:fs';
import { Client } from 'pg';
import { TenantLifecycle } from '@app/tenancy';
import { openDemoDatabase } from './demo-database';

const USAGE = `usage: npm run tenants -- <command>
  list
  create <slug> <name>
  suspend <slug> | activate <slug>
  export <slug> [--out file.jsonl]
  delete <slug> --confirm <slug>`;

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

function progress(table: string, done: number, total: number): void {
  const width = 30;
  const filled = total ? Math.round((done / total) * width) : width;
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${table} ${done}/${total}`;
  if (process.stderr.isTTY) process.stderr.write(`\r${bar}\x1b[K${done === total ? '\n' : ''}`);
  else if (done === total) process.stderr.write(`${bar}\n`);
}

function write(out: WriteStream | NodeJS.WriteStream, line: string): Promise<void> | void {
  if (!out.write(`${line}\n`)) return new Promise((r) => out.once('drain', () => r()));
}

/** Platform operations on tenants, logged to stderr; never reachable with a tenant token. */
async function main(): Promise<number> {
  const [command, ...args] = process.argv
    .slice(2)
    .filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'));
  if (!command) throw new Error(USAGE);
  const demo = await openDemoDatabase();
  const client = new Client({ connectionString: demo.db.ownerUrl });
  await client.connect();
  const log = (m: string) => process.stderr.write(`${new Date().toISOString()} ${m}\n`);
  const tenants = new TenantLifecycle(client, { log });
  try {
    switch (command) {
      case 'list':
        for (const t of await tenants.list())
          console.log(`${t.slug}\t${t.id}\t${t.status}\t${t.name}`);
        return 0;
      case 'create':
        if (args.length < 2) throw new Error(USAGE);
        console.log(await tenants.create(args[0], args.slice(1).join(' ')));
        return 0;
      case 'suspend':
      case 'activate':
        if (!args[0]) throw new Error(USAGE);
        await tenants.setStatus(args[0], command === 'suspend' ? 'suspended' : 'active');
        return 0;
      case 'export': {
        if (!args[0]) throw new Error(USAGE);
        const file = option('out');
        const out = file ? createWriteStream(file) : process.stdout;
        const counts = await tenants.export(args[0], (line) => write(out, line), progress);
        if (file) await new Promise<void>((r) => (out as WriteStream).end(() => r()));
        for (const [table, n] of Object.entries(counts)) process.stderr.write(`${table}\t${n}\n`);
        return 0;
      }
      case 'delete': {
        if (!args[0]) throw new Error(USAGE);
        if (option('confirm') !== args[0]) {
          throw new Error(`refusing to delete: repeat the slug with --confirm ${args[0]}`);
        }
        const counts = await tenants.delete(args[0]);
        for (const [table, n] of Object.entries(counts)) console.log(`${table}\t${n}`);
        return 0;
      }
      default:
        throw new Error(`unknown command "${command}"\n${USAGE}`);
    }
  } finally {
    await client.end();
    await demo.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(2);
  },
);
