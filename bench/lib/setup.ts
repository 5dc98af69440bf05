import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  dropDatabase,
  prepareDatabase,
  PreparedDatabase,
  RunningPostgres,
  startPostgres,
  withClient,
  withCredentials,
} from '@app/dev-postgres';
import { migrateUp } from '../../migrations/run-migrations';
import {
  bulkSession,
  checkChains,
  checkIds,
  loadSalesTenant,
  loadSupportTenants,
  salesTree,
  SalesTree,
  vacuumAnalyze,
} from './data';
import { BENCH_TENANTS, tenantId } from './ids';
import { BenchSizes } from './options';

/** The bench-only role of the baseline: LOGIN BYPASSRLS, DML grants only. */
export const BASELINE_ROLE = 'bench_baseline';
const BASELINE_PASSWORD = 'bench_baseline_password';

type Log = (message: string) => void;

/** Everything the benchmark runs against. */
export interface BenchEnvironment {
  server: RunningPostgres;
  serverVersion: string;
  main: BenchDatabase;
  /** Scale databases by tenant count (the main one is among them). */
  scale: Map<number, BenchDatabase>;
  tree: SalesTree;
  /** Seconds spent generating data. */
  loadSeconds: number;
  cleanup(keep: boolean): Promise<void>;
}

/** A benchmark database: the prepared URLs plus the baseline role's URL. */
export interface BenchDatabase extends PreparedDatabase {
  baselineUrl: string;
  tenants: number;
  tickets: number;
}

/**
 * Creates the bench-only baseline role (idempotent) and grants it what the baseline app needs.
 *
 * The audit trigger on the app tables writes its entry into tenancy.audit_log, whose tenant guard
 * needs `app.tenant_id` to be the written row's tenant. The baseline has no tenancy layer to set
 * it, so its role carries the write tenant's id as a default in this database: the baseline's
 * INSERT is audited like the library's, with no statement of its own (a conservative baseline).
 */
async function grantBaseline(adminUrl: string, database: string): Promise<void> {
  await withClient(adminUrl, async (c) => {
    const exists = await c.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [BASELINE_ROLE]);
    await c.query(
      `${exists.rowCount ? 'ALTER' : 'CREATE'} ROLE ${BASELINE_ROLE} LOGIN NOSUPERUSER BYPASSRLS PASSWORD '${BASELINE_PASSWORD}'`,
    );
    await c.query(`GRANT USAGE ON SCHEMA tenancy, support, sales TO ${BASELINE_ROLE}`);
    await c.query(
      `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA support, sales TO ${BASELINE_ROLE}`,
    );
    await c.query(`GRANT SELECT ON tenancy.tenants TO ${BASELINE_ROLE}`);
    await c.query(
      `ALTER ROLE ${BASELINE_ROLE} IN DATABASE "${database}" SET app.tenant_id = '${tenantId(BENCH_TENANTS.supportWrite)}'`,
    );
  });
}

/** Copies a database with CREATE DATABASE ... TEMPLATE (file copy where the server has it). */
async function copyDatabase(
  server: RunningPostgres,
  from: string,
  to: string,
  owner: string,
): Promise<void> {
  await withClient(server.adminUrl, async (c) => {
    const v = await c.query<{ v: string }>(`SHOW server_version_num`);
    const strategy = Number(v.rows[0].v) >= 150000 ? ' STRATEGY FILE_COPY' : '';
    await c.query(`CREATE DATABASE "${to}" TEMPLATE "${from}" OWNER "${owner}"${strategy}`);
  });
}

async function benchDatabase(
  server: RunningPostgres,
  name: string,
  tenants: number,
  tickets: number,
): Promise<BenchDatabase> {
  const db = await prepareDatabase(server.adminUrl, name);
  return {
    ...db,
    tenants,
    tickets,
    baselineUrl: baselineUrl(server.adminUrl, name),
  };
}

/** The baseline role's URL for `database` on the server of `adminUrl`. */
export function baselineUrl(adminUrl: string, database: string): string {
  return withCredentials(adminUrl, { user: BASELINE_ROLE, password: BASELINE_PASSWORD, database });
}

/**
 * Starts (or locates) PostgreSQL, creates `bench_<timestamp>` and loads it. With `scale`, also a
 * copy taken after the first 10 tenants (`_t10`) and a copy extended to the largest tenant count
 * (`_t10000`), so the measured tenant's rows are byte-identical in all three.
 */
export async function setUpEnvironment(
  sizes: BenchSizes,
  withScale: boolean,
  log: Log,
): Promise<BenchEnvironment> {
  const env = process.env.DATABASE_URL?.trim();
  let dataDir: string | undefined;
  if (!env) {
    mkdirSync(resolve('.data'), { recursive: true });
    dataDir = mkdtempSync(resolve('.data/bench-pg-'));
  }
  const server = await startPostgres({ purpose: 'bench', dataDir });
  log(`PostgreSQL: ${server.description}`);
  const stamp = new Date().toISOString().replace(/[-:T]/g, '').replace(/\..*$/, '').toLowerCase();
  const name = `bench_${stamp}`;
  const created: string[] = [];
  const started = Date.now();
  const cleanup = async (keep: boolean) => {
    if (!keep) {
      for (const db of created) await dropDatabase(server.adminUrl, db).catch(() => undefined);
      await withClient(server.adminUrl, async (c) => {
        const left = await c.query(`SELECT 1 FROM pg_database WHERE datname LIKE 'bench\\_%'`);
        if (!left.rowCount) {
          await c.query(`DROP OWNED BY ${BASELINE_ROLE}`).catch(() => undefined);
          await c.query(`DROP ROLE IF EXISTS ${BASELINE_ROLE}`);
        }
      }).catch((e: unknown) => log(`could not drop ${BASELINE_ROLE}: ${String(e)}`));
    } else {
      log(
        `kept databases: ${created.join(', ')}${dataDir ? ` (embedded data in ${dataDir})` : ''}`,
      );
    }
    await server.stop();
    if (dataDir && !keep) rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const serverVersion = await withClient(server.adminUrl, async (c) => {
      const r = await c.query<{ v: string }>(`SELECT version() AS v`);
      return r.rows[0].v;
    });
    const tree = salesTree(sizes);
    const [small, mid, large] = sizes.scaleTenants;
    const firstStep = withScale ? small : sizes.tenants;

    created.push(name);
    const main = await benchDatabase(server, name, sizes.tenants, 0);
    log(`Database ${name}: migrating`);
    await migrateUp(main.ownerUrl);
    await grantBaseline(main.adminUrl, name);

    log(`Loading tenants 1-${firstStep} (${firstStep} tenants)`);
    let c = await bulkSession(main.adminUrl);
    let tickets = await loadSupportTenants(c, sizes, 1, firstStep, log);
    const scale = new Map<number, BenchDatabase>();
    if (withScale) {
      await vacuumAnalyze(c);
      await c.end();
      const t10 = `${name}_t${small}`;
      log(`Copying ${name} to ${t10} (${small} tenants, ${tickets.toLocaleString('en')} tickets)`);
      created.push(t10);
      await copyDatabase(server, name, t10, main.roles.owner);
      scale.set(small, await benchDatabase(server, t10, small, tickets));
      c = await bulkSession(main.adminUrl);
      log(`Loading tenants ${small + 1}-${sizes.tenants}`);
      tickets += await loadSupportTenants(c, sizes, small + 1, sizes.tenants, log);
    }
    main.tickets = tickets;
    log(
      `Loading sales: tenant ${BENCH_TENANTS.sales} with ${tree.members.toLocaleString('en')} members (depth ${tree.depth}) and ${sizes.deals.toLocaleString('en')} deals, ${sizes.smallSalesTenants} small sales tenants`,
    );
    await loadSalesTenant(c, BENCH_TENANTS.sales, tree, sizes.accounts, sizes.deals);
    for (let k = 0; k < sizes.smallSalesTenants; k++) {
      await loadSalesTenant(c, 11 + k, { branching: 3, members: 13 }, 10, sizes.smallDeals);
    }
    await checkChains(c, BENCH_TENANTS.sales, tree);
    await checkIds(c);
    log('VACUUM ANALYZE');
    await vacuumAnalyze(c);
    await c.end();
    if (withScale) {
      scale.set(mid, main);
      const tBig = `${name}_t${large}`;
      log(`Copying ${name} to ${tBig}, then loading tenants ${sizes.tenants + 1}-${large}`);
      created.push(tBig);
      await copyDatabase(server, name, tBig, main.roles.owner);
      const big = await benchDatabase(server, tBig, large, tickets);
      c = await bulkSession(big.adminUrl);
      big.tickets += await loadSupportTenants(c, sizes, sizes.tenants + 1, large, log);
      await vacuumAnalyze(c);
      await c.end();
      scale.set(large, big);
    }
    const loadSeconds = (Date.now() - started) / 1000;
    log(`Data ready in ${loadSeconds.toFixed(0)} s`);
    return { server, serverVersion, main, scale, tree, loadSeconds, cleanup };
  } catch (error) {
    await cleanup(false).catch(() => undefined);
    throw error;
  }
}
