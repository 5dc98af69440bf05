import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { dropDatabase, prepareDatabase, startPostgres } from '@app/dev-postgres';
import { migrateUp } from '../migrations/run-migrations';
import { createSalesApp } from '../apps/sales-api/src/sales-app';
import { createSupportApp } from '../apps/support-api/src/support-app';
import { createOrg, Org, SECRET } from '../test/adversarial/both-apps.fixture';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const CONNECTIONS = Number(process.env.SOAK_CONNECTIONS ?? 50);
const TENANTS = Number(process.env.SOAK_TENANTS ?? 20);

type Check = (body: unknown) => string[];

/** Texts a response carries that another tenant could have written (subjects, titles, names, bodies). */
function texts(body: unknown): string[] {
  const items = (body as { items?: Record<string, unknown>[] })?.items;
  const rows = Array.isArray(items)
    ? items
    : body && typeof body === 'object'
      ? [body as Record<string, unknown>]
      : [];
  return rows.flatMap((r) =>
    ['subject', 'title', 'name', 'body']
      .map((k) => r[k])
      .filter((v): v is string => typeof v === 'string'),
  );
}

interface LoadResult {
  requests: number;
  errors: number;
  foreign: number;
  samples: string[];
  latencies: number[];
}

/**
 * Drives one app with `connections` concurrent keep-alive workers for SECONDS: each request picks a
 * random tenant and route, and every 200 body is checked for rows another tenant wrote.
 */
async function load(
  url: string,
  connections: number,
  routes: ((org: Org) => { path: string; token: string; check: Check })[],
  orgs: Org[],
): Promise<LoadResult> {
  const out: LoadResult = { requests: 0, errors: 0, foreign: 0, samples: [], latencies: [] };
  const until = Date.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (Date.now() < until) {
        const org = orgs[Math.floor(Math.random() * orgs.length)];
        const route = routes[Math.floor(Math.random() * routes.length)](org);
        const started = performance.now();
        try {
          const res = await fetch(`${url}${route.path}`, {
            headers: { authorization: `Bearer ${route.token}` },
          });
          const body = await res.text();
          out.latencies.push(performance.now() - started);
          out.requests++;
          if (res.status !== 200) {
            out.errors++;
            continue;
          }
          const bad = route.check(JSON.parse(body));
          out.foreign += bad.length;
          if (bad.length && out.samples.length < 5) out.samples.push(...bad);
        } catch {
          out.errors++;
        }
      }
    }),
  );
  return out;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length
    ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
    : 0;
}

/** SOAK_SECONDS (60) of load at SOAK_CONNECTIONS (50) across both apps and SOAK_TENANTS (20) tenants. */
async function main(): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tenancy-soak-'));
  const pg = await startPostgres({ purpose: 'bench', dataDir });
  const database = `soak_${Date.now().toString(36)}`;
  const db = await prepareDatabase(pg.adminUrl, database);
  const owner = new Client({ connectionString: db.ownerUrl });
  try {
    await migrateUp(db.ownerUrl);
    await owner.connect();
    const config = {
      databaseUrl: db.appUrl,
      jwtSecret: SECRET,
      poolSize: 10,
      logger: ['error'] as 'error'[],
    };
    const support = await createSupportApp(config);
    const sales = await createSalesApp(config);
    await support.listen(0, '127.0.0.1');
    await sales.listen(0, '127.0.0.1');
    const apps = { supportUrl: await support.getUrl(), salesUrl: await sales.getUrl() };
    const orgs: Org[] = [];
    for (let i = 0; i < TENANTS; i++) {
      process.stderr.write(`\rsoak: creating tenant ${i + 1}/${TENANTS}`);
      const org = await createOrg(owner, apps as never, `soak${i}`);
      for (let t = 0; t < 5; t++) {
        await fetch(`${apps.supportUrl}/tickets`, {
          method: 'POST',
          headers: { authorization: `Bearer ${org.agent}`, 'content-type': 'application/json' },
          body: JSON.stringify({ subject: `${org.tag}:ticket ${t}` }),
        });
        await fetch(`${apps.salesUrl}/deals`, {
          method: 'POST',
          headers: { authorization: `Bearer ${org.rep}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            accountId: org.accountId,
            title: `${org.tag}:deal ${t}`,
            amount: t,
          }),
        });
      }
      orgs.push(org);
    }
    const own =
      (org: Org): Check =>
      (body) =>
        texts(body).filter((t) => !t.startsWith(`${org.tag}:`) && !t.startsWith('global'));
    console.log(
      `soak: ${SECONDS}s, ${CONNECTIONS} connections, ${TENANTS} tenants, both apps (${pg.description})`,
    );
    const half = Math.max(1, Math.floor(CONNECTIONS / 2));
    const [s, d] = await Promise.all([
      load(
        apps.supportUrl,
        half,
        [
          (o) => ({ path: '/tickets?limit=20', token: o.agent, check: own(o) }),
          (o) => ({ path: '/tickets?limit=5&status=open', token: o.supportAdmin, check: own(o) }),
        ],
        orgs,
      ),
      load(
        apps.salesUrl,
        CONNECTIONS - half,
        [
          (o) => ({ path: '/deals', token: o.manager, check: own(o) }),
          (o) => ({ path: '/deals', token: o.rep, check: own(o) }),
          (o) => ({ path: '/accounts', token: o.rep, check: own(o) }),
          (o) => ({ path: '/team/members', token: o.salesAdmin, check: own(o) }),
        ],
        orgs,
      ),
    ]);
    await support.close();
    await sales.close();
    const requests = s.requests + d.requests;
    const errors = s.errors + d.errors;
    const foreign = s.foreign + d.foreign;
    const ms = (r: LoadResult, p: number) =>
      percentile(
        [...r.latencies].sort((x, y) => x - y),
        p,
      ).toFixed(1);
    console.log(
      [
        `requests:     ${requests} (${Math.round(requests / SECONDS)}/s)`,
        `errors:       ${errors} (non-200 or network errors)`,
        `foreign rows: ${foreign}${foreign ? ` e.g. ${[...s.samples, ...d.samples].join(', ')}` : ' (must be 0)'}`,
        `support-api latency p50 ${ms(s, 50)} ms, p99 ${ms(s, 99)} ms`,
        `sales-api   latency p50 ${ms(d, 50)} ms, p99 ${ms(d, 99)} ms`,
      ].join('\n'),
    );
    return foreign === 0 && errors === 0 ? 0 : 1;
  } finally {
    await owner.end().catch(() => undefined);
    await dropDatabase(pg.adminUrl, database).catch(() => undefined);
    await pg.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
