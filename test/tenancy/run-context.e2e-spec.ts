import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import {
  InvalidTenantContextError,
  PlatformNotConfiguredError,
  TenancyError,
  TenantContextMissingError,
  TenantContextService,
  TenantRunner,
  TenantStatusService,
  TenantSuspendedError,
  UnknownTenantError,
} from '@app/tenancy';
import { createTenant } from '../support/db';
import { testUrl } from '../support/test-env';
import { createNotesApp } from './fixtures/notes.app';
import { notesSetup, notesTenant, NotesTenant, storedTitles } from './fixtures/notes.harness';

/** Work outside HTTP (jobs, cron, scripts) runs tenant-scoped through TenantRunner.run(). */
describe('TenantRunner.run()', () => {
  let owner: Client;
  let app: INestApplication;
  let ds: DataSource;
  let tenancy: TenantRunner;
  let contexts: TenantContextService;
  let a: NotesTenant;
  let b: NotesTenant;

  beforeAll(async () => {
    ({ owner, app } = await notesSetup({
      platformUrl: testUrl('ownerUrl'),
      tenancy: { platform: { dataSourceName: 'platform' } },
    }));
    ds = app.get(DataSource);
    tenancy = app.get(TenantRunner);
    contexts = app.get(TenantContextService);
    a = await notesTenant(owner, 'run-a', ['a-one']);
    b = await notesTenant(owner, 'run-b', ['b-one']);
  });

  afterAll(async () => {
    await app.close();
    await owner.end();
  });

  const titles = async () =>
    (await ds.query<{ title: string }[]>('SELECT title FROM lib_test.notes ORDER BY title')).map(
      (r) => r.title,
    );
  const ctx = (t: NotesTenant) => ({
    tenantId: t.id,
    userId: t.userId,
    role: 'member',
    requestId: `job-${t.id.slice(0, 8)}`,
  });

  it('sees only the given tenant', async () => {
    expect(await tenancy.run(ctx(a), titles)).toEqual(['a-one']);
    expect(await tenancy.run(ctx(b), titles)).toEqual(['b-one']);
  });

  it('lets a nested run of another tenant see only that tenant, and restores the outer one after it', async () => {
    const seen = await tenancy.run(ctx(a), async () => {
      const before = await titles();
      const inner = await tenancy.run(ctx(b), async () => ({
        rows: await titles(),
        current: contexts.current(),
      }));
      const after = await titles();
      return { before, inner, after, current: contexts.current() };
    });
    expect(seen).toEqual({
      before: ['a-one'],
      inner: { rows: ['b-one'], current: ctx(b) },
      after: ['a-one'],
      current: ctx(a),
    });
  });

  it('commits when fn resolves and rolls back when it throws', async () => {
    await tenancy.run(ctx(a), () =>
      ds.query('INSERT INTO lib_test.notes (tenant_id, title) VALUES ($1, $2)', [a.id, 'a-job']),
    );
    await expect(
      tenancy.run(ctx(a), async () => {
        await ds.query('INSERT INTO lib_test.notes (tenant_id, title) VALUES ($1, $2)', [
          a.id,
          'a-job-failed',
        ]);
        throw new Error('job failed');
      }),
    ).rejects.toThrow('job failed');
    expect(await storedTitles(owner, a.id)).toEqual(['a-job', 'a-one']);
  });

  it('leaves no context behind: outside run() there is no tenant and no row', async () => {
    await tenancy.run(ctx(a), titles);
    expect(contexts.current()).toBeUndefined();
    expect(() => contexts.require()).toThrow(TenantContextMissingError);
    expect(await titles()).toEqual([]);
  });

  it("assertActive() lets an active tenant's job through and stops an unknown or suspended one", async () => {
    const statuses = app.get(TenantStatusService);
    const suspended = await createTenant(owner, 'run-suspended', 'suspended');
    const unknown = '7a1e0f4e-0000-4000-8000-000000000000';
    await expect(statuses.assertActive(a.id.toUpperCase())).resolves.toBeUndefined();
    await expect(statuses.assertActive(suspended)).rejects.toEqual(
      new TenantSuspendedError(suspended),
    );
    await expect(statuses.assertActive(unknown)).rejects.toEqual(new UnknownTenantError(unknown));
  });

  it('runs the scope at the isolation level given to run(); a nested transaction may not change it', async () => {
    const level = async () =>
      (await ds.query<{ transaction_isolation: string }[]>('SHOW transaction_isolation'))[0]
        .transaction_isolation;
    expect(await tenancy.run(ctx(a), level)).toBe('read committed');
    const seen = await tenancy.run(
      ctx(a),
      async () => ({
        scope: await level(),
        sameLevel: await ds.transaction('SERIALIZABLE', async (m) => {
          const rows = await m.query<{ title: string }[]>(
            'SELECT title FROM lib_test.notes ORDER BY title',
          );
          return rows.map((r) => r.title);
        }),
        otherLevel: await ds
          .transaction('READ COMMITTED', async () => 'ran')
          .catch((e: unknown) => e),
      }),
      { isolationLevel: 'SERIALIZABLE' },
    );
    expect(seen.scope).toBe('serializable');
    expect(seen.sameLevel).toEqual(await storedTitles(owner, a.id));
    expect(seen.sameLevel).toContain('a-one');
    expect(seen.otherLevel).toBeInstanceOf(TenancyError);
    expect((seen.otherLevel as Error).message).toContain('isolation level (SERIALIZABLE)');
    await expect(
      tenancy.run(ctx(a), () => ds.transaction('REPEATABLE READ', async () => 'ran')),
    ).rejects.toThrow(/savepoint of the scope's transaction .*READ COMMITTED/);
  });

  it('refuses a malformed context before any query', async () => {
    await expect(
      tenancy.run({ tenantId: "x' OR 1=1 --", userId: a.userId, role: 'member' }, titles),
    ).rejects.toThrow(InvalidTenantContextError);
    await expect(
      tenancy.run({ tenantId: a.id, userId: a.userId, role: '' }, titles),
    ).rejects.toThrow(InvalidTenantContextError);
  });

  it('runs platform work only explicitly, on the platform connection, outside any tenant', async () => {
    const seen = await tenancy.run(ctx(a), () =>
      tenancy.runAsPlatform('count tenants for the test', async (m) => ({
        tenants: (
          await m.query('SELECT count(*)::int AS n FROM tenancy.tenants WHERE id = ANY($1)', [
            [a.id, b.id],
          ])
        )[0].n,
        context: contexts.current(),
      })),
    );
    expect(seen).toEqual({ tenants: 2, context: undefined });
  });

  it('throws PlatformNotConfiguredError when no platform connection is configured', async () => {
    const plain = await createNotesApp({ databaseUrl: testUrl('appUrl') });
    try {
      await expect(plain.get(TenantRunner).runAsPlatform('x', async () => 1)).rejects.toThrow(
        PlatformNotConfiguredError,
      );
    } finally {
      await plain.close();
    }
  });
});
