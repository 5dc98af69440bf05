import { jwtSecretFromEnv, replicaUrlsFromEnv } from '@app/demo-kit';
import { createSalesApp } from './sales-app';

async function main(): Promise<void> {
  const databaseUrl = process.env.APP_DATABASE_URL;
  if (!databaseUrl) {
    throw new Error('APP_DATABASE_URL (the application role connection string) is required');
  }
  const app = await createSalesApp({
    databaseUrl,
    replicaDatabaseUrls: replicaUrlsFromEnv(),
    jwtSecret: jwtSecretFromEnv(),
  });
  const port = Number(process.env.PORT ?? 3002);
  // Fastify's default host is localhost; HOST=:: or HOST=127.0.0.1 picks another.
  await app.listen(port, process.env.HOST ?? '0.0.0.0');
  console.log(`sales-api listening on http://localhost:${port}`);
}

void main();
