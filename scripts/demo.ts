import { resolve } from 'node:path';
import { ConsoleLogger } from '@nestjs/common';
import { Client } from 'pg';
import { prepareDatabase, redact, startPostgres } from '@app/dev-postgres';
import { DEMO_TENANTS, jwtSecretFromEnv, DEV_JWT_SECRET } from '@app/demo-kit';
import { migrateUp } from '../migrations/run-migrations';
import { createSupportApp } from '../apps/support-api/src/support-app';
import { createSalesApp } from '../apps/sales-api/src/sales-app';
import { seedSupport } from '../apps/support-api/src/seed';
import { seedSales } from '../apps/sales-api/src/seed';
import { supportDemoTokens } from '../apps/support-api/src/demo-tokens';
import { salesDemoTokens } from '../apps/sales-api/src/demo-tokens';
import { slaScheduleFromEnv } from '../apps/support-api/src/sla/sla-schedule';
import { DEV_JOB_SECRET, ensureDemoRedis } from './demo-redis';
import { formatDuration } from '../apps/support-api/src/sla/format-duration';
import { SlaJob } from '../apps/support-api/src/sla/sla.job';
import { demoAmqp } from './demo-amqp';

/** Seeds the tenant registry with the three demo tenants (fixed ids); leaves existing rows alone. */
async function seedTenants(owner: Client): Promise<void> {
  for (const t of Object.values(DEMO_TENANTS)) {
    await owner.query(
      `INSERT INTO tenancy.tenants (id, slug, name, status) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`,
      [t.id, t.slug, t.name, t.status],
    );
  }
}

/**
 * Nest's console logger (errors and warnings), minus one false alarm. @nestjs/typeorm keeps one
 * process-wide list of data source names and warns when a second application in the same process
 * registers "default" again. The demo runs both apps in one process on purpose; each has its own
 * Nest container and its own DataSource, so nothing is overridden. Any other warning goes through.
 */
class DemoLogger extends ConsoleLogger {
  constructor() {
    super({ logLevels: ['error', 'warn'] });
  }

  override warn(message: unknown, ...rest: unknown[]): void {
    const duplicateDefault =
      rest.at(-1) === 'DataSourceNameRegistry' &&
      String(message).startsWith('A data source with the default name is already registered');
    if (!duplicateDefault) super.warn(message, ...rest);
  }
}

async function main(): Promise<void> {
  const pg = await startPostgres({
    purpose: 'demo',
    dataDir: resolve(process.env.DEMO_DATA_DIR ?? '.data/postgres'),
    port: Number(process.env.DEMO_PG_PORT ?? 54329),
  });
  console.log(`PostgreSQL: ${pg.description}`);
  const db = await prepareDatabase(pg.adminUrl, process.env.DEMO_DATABASE ?? 'tenancy_demo');
  const ran = await migrateUp(db.ownerUrl);
  console.log(ran.length ? `Migrations run: ${ran.join(', ')}` : 'Migrations: up to date');
  const owner = new Client({ connectionString: db.ownerUrl });
  await owner.connect();
  try {
    await seedTenants(owner);
    await seedSupport(owner);
    await seedSales(owner);
  } finally {
    await owner.end();
  }
  const jwtSecret = jwtSecretFromEnv();
  const supportPort = Number(process.env.SUPPORT_PORT ?? 3001);
  const salesPort = Number(process.env.SALES_PORT ?? 3002);
  const redis = await ensureDemoRedis();
  const amqp = await demoAmqp();
  const support = await createSupportApp({
    amqpUrl: amqp.url,
    databaseUrl: db.appUrl,
    platformDatabaseUrl: db.platformUrl,
    sla: slaScheduleFromEnv(),
    jobs: redis.url
      ? {
          redisUrl: redis.url,
          prefix: 'tenancy-demo',
          secret: process.env.JOB_SECRET?.trim() || DEV_JOB_SECRET,
        }
      : undefined,
    jwtSecret,
    logger: new DemoLogger(),
  });
  await support.listen(supportPort);
  const sales = await createSalesApp({
    databaseUrl: db.appUrl,
    jwtSecret,
    logger: new DemoLogger(),
  });
  await sales.listen(salesPort);

  const supportUrl = `http://localhost:${supportPort}`;
  const salesUrl = `http://localhost:${salesPort}`;
  const lines = [
    '',
    `Apps connect as ${db.roles.app}: ${redact(db.appUrl)}`,
    redis.note,
    `support-api: ${supportUrl}  (OpenAPI: ${supportUrl}/docs)`,
    amqp.note,
    `sales-api:   ${salesUrl}  (Fastify; OpenAPI: ${salesUrl}/docs, GraphQL: ${salesUrl}/graphql)`,
    jwtSecret === DEV_JWT_SECRET
      ? 'JWT_SECRET is not set: signing with the DEVELOPMENT default secret (never use it in production).'
      : 'Signing tokens with JWT_SECRET from the environment.',
    `Tenants: ${Object.values(DEMO_TENANTS)
      .map((t) => `${t.slug} ${t.id} (${t.status})`)
      .join(', ')}`,
    '',
  ];
  for (const t of [
    ...supportDemoTokens(jwtSecret, supportUrl),
    ...salesDemoTokens(jwtSecret, salesUrl),
  ]) {
    lines.push(`# ${t.label}`, `export TOKEN='${t.token}'`, t.curl, '');
  }
  const sla = support.get(SlaJob).options;
  lines.push(
    `# Audit trail, admin tokens only (both apps): curl -H "Authorization: Bearer $TOKEN" "${supportUrl}/audit?limit=5"`,
    sla.scheduled
      ? `SLA job (support-api): every ${formatDuration(sla.schedule.everyMs)}, open tickets older than ${formatDuration(sla.schedule.olderThanMs)} go to high (SLA=off disables).`
      : `SLA job (support-api): disabled (${sla.disabledReason}).`,
    '',
    'More tokens: npm run token -- --tenant globex --role admin',
    'Press Ctrl+C to stop.',
  );
  console.log(lines.join('\n'));

  const stop = async () => {
    await Promise.allSettled([support.close(), sales.close()]);
    await pg.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? `npm run demo: ${error.message}` : error);
  process.exit(1);
});
