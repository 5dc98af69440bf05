import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { dropDatabase, PreparedDatabase, prepareDatabase } from '@app/dev-postgres';
import { createSupportApp } from '../../apps/support-api/src/support-app';
import { migrateUp } from '../../migrations/run-migrations';
import { suffix } from '../support/db';
import { testUrl } from '../support/test-env';
import { as, JWT_SECRET, supportTenant } from '../support-api/support-api.fixture';
import { auditEntries, requestId } from './audit.fixture';

/**
 * Oldest first must hold when entry ids cross a power of ten (9x, then 1xx). The ids come from one
 * identity shared by every tenant, so a busy database crosses such boundaries all the time. Runs in
 * a database of its own: it moves the audit id sequence forward.
 */
describe('GET /audit order across an id with more digits', () => {
  const database = `audit_order_${suffix()}`;
  let db: PreparedDatabase;
  let owner: Client;
  let app: INestApplication;

  beforeAll(async () => {
    db = await prepareDatabase(testUrl('serverAdminUrl'), database);
    await migrateUp(db.ownerUrl);
    owner = new Client({ connectionString: db.ownerUrl });
    await owner.connect();
    app = await createSupportApp({ databaseUrl: db.appUrl, jwtSecret: JWT_SECRET, logger: false });
  });
  afterAll(async () => {
    await app?.close();
    await owner?.end();
    await dropDatabase(testUrl('serverAdminUrl'), database);
  });

  /** Moves the audit id sequence so that the next id is `next`. */
  const nextIdIs = async (next: number) => {
    await owner.query(`SELECT setval(pg_get_serial_sequence('tenancy.audit_log', 'id'), $1)`, [
      next - 1,
    ]);
  };

  it('lists entries by id as a number, and limit keeps the oldest', async () => {
    const tenant = await supportTenant(owner, 'audit-order');
    await nextIdIs(90);
    const first = requestId('first');
    await as(app, tenant.agent)
      .post('/tickets', { subject: 'ninety' })
      .set('x-request-id', first)
      .expect(201);
    await nextIdIs(100);
    const second = requestId('second');
    await as(app, tenant.agent)
      .post('/tickets', { subject: 'hundred' })
      .set('x-request-id', second)
      .expect(201);

    const items = await auditEntries(app, tenant.admin);
    expect(items.map((e) => [e.id, e.requestId])).toEqual([
      ['90', first],
      ['100', second],
    ]);
    expect((await auditEntries(app, tenant.admin, 'limit=1')).map((e) => e.id)).toEqual(['90']);
  });
});
