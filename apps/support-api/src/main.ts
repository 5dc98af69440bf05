import { jwtSecretFromEnv } from '@app/demo-kit';
import { slaScheduleFromEnv } from './sla/sla-schedule';
import { createSupportApp } from './support-app';

async function main(): Promise<void> {
  const databaseUrl = process.env.APP_DATABASE_URL;
  if (!databaseUrl)
    throw new Error('APP_DATABASE_URL (the application role connection string) is required');
  const app = await createSupportApp({
    databaseUrl,
    jwtSecret: jwtSecretFromEnv(),
    platformDatabaseUrl: process.env.PLATFORM_DATABASE_URL || undefined,
    sla: slaScheduleFromEnv(),
  });
  const port = Number(process.env.PORT ?? 3001);
  await app.listen(port);
  console.log(`support-api listening on http://localhost:${port}`);
}

void main();
