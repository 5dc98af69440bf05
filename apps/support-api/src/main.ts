import { jwtSecretFromEnv, replicaUrlsFromEnv } from '@app/demo-kit';
import { supportJobsFromEnv } from './sla/sla-queue';
import { slaScheduleFromEnv } from './sla/sla-schedule';
import { createSupportApp } from './support-app';

async function main(): Promise<void> {
  const databaseUrl = process.env.APP_DATABASE_URL;
  if (!databaseUrl)
    throw new Error('APP_DATABASE_URL (the application role connection string) is required');
  const app = await createSupportApp({
    databaseUrl,
    replicaDatabaseUrls: replicaUrlsFromEnv(),
    jwtSecret: jwtSecretFromEnv(),
    platformDatabaseUrl: process.env.PLATFORM_DATABASE_URL || undefined,
    sla: slaScheduleFromEnv(),
    jobs: supportJobsFromEnv(),
    amqpUrl: process.env.AMQP_URL || undefined,
    inboundEmailQueue: process.env.INBOUND_EMAIL_QUEUE || undefined,
  });
  const port = Number(process.env.PORT ?? 3001);
  await app.listen(port);
  console.log(`support-api listening on http://localhost:${port}`);
}

void main();
