import { randomUUID } from 'node:crypto';
import {
  Body,
  Controller,
  DynamicModule,
  Get,
  INestApplication,
  Module,
  Post,
} from '@nestjs/common';
import { InjectDataSource, TypeOrmModule } from '@nestjs/typeorm';
import { IsString, Length } from 'class-validator';
import { Client } from 'pg';
import request from 'supertest';
import { DataSource } from 'typeorm';
import {
  createTenancyDataSource,
  TenancyModule,
  TenancyReplicaOptions,
  TenantContextService,
  TenantReadOnly,
  TenantReadOnlyScopeError,
  TenantRunner,
  TenantScoped,
} from '@app/tenancy';
import { contextStatementFromEnv, signToken } from '@app/demo-kit';
import { createSupportApp } from '../../apps/support-api/src/support-app';
import { createTenant, inTenant } from '../support/db';
import { createHttpApp, initHttpApp } from '../support/http-adapter';
import {
  ReplicaCluster,
  describeWithReplica,
  startReplicaCluster,
} from '../support/replica-cluster';

const SECRET = 'replica-test-secret-0123456789-abcdefghijklmn';

/** Where a scope ran and what it saw. */
interface Seen {
  replica: boolean;
  readOnly: string;
  tenant: string;
  subjects: string[];
}

class NewTicket {
  @IsString()
  @Length(1, 200)
  subject!: string;
}

@Controller('tickets')
@TenantScoped()
class TicketsController {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly tenant: TenantContextService,
  ) {}

  @Get('read')
  @TenantReadOnly()
  read(): Promise<Seen> {
    return this.seen();
  }

  @Get('primary')
  primary(): Promise<Seen> {
    return this.seen();
  }

  @Post()
  async create(@Body() body: NewTicket): Promise<{ created: true }> {
    await this.insert(body.subject);
    return { created: true };
  }

  @Post('in-read-only')
  @TenantReadOnly()
  async createInReadOnly(@Body() body: NewTicket): Promise<{ created: true }> {
    await this.insert(body.subject);
    return { created: true };
  }

  private insert(subject: string): Promise<unknown> {
    const { tenantId, userId } = this.tenant.require();
    return this.ds.query(
      'INSERT INTO support.tickets (tenant_id, subject, requester_id) VALUES ($1, $2, $3)',
      [tenantId, subject, userId],
    );
  }

  private async seen(): Promise<Seen> {
    const [where] = await this.ds.query<{ replica: boolean; readOnly: string; tenant: string }[]>(
      `SELECT pg_is_in_recovery() AS replica, current_setting('transaction_read_only') AS "readOnly",
              current_setting('app.tenant_id') AS tenant`,
    );
    const rows = await this.ds.query<{ subject: string }[]>(
      'SELECT subject FROM support.tickets ORDER BY subject',
    );
    return { ...where, subjects: rows.map((r) => r.subject) };
  }
}

/** Read-only as a whole, with one writing handler. */
@Controller('archive')
@TenantScoped({ readOnly: true })
class ArchiveController {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly tenant: TenantContextService,
  ) {}

  @Get()
  async where(): Promise<{ replica: boolean; readOnly: string }> {
    const [row] = await this.ds.query<{ replica: boolean; readOnly: string }[]>(
      `SELECT pg_is_in_recovery() AS replica, current_setting('transaction_read_only') AS "readOnly"`,
    );
    return row;
  }

  @Post()
  @TenantReadOnly(false)
  async archive(@Body() body: NewTicket): Promise<{ created: true }> {
    const { tenantId, userId } = this.tenant.require();
    await this.ds.query(
      'INSERT INTO support.tickets (tenant_id, subject, requester_id) VALUES ($1, $2, $3)',
      [tenantId, body.subject, userId],
    );
    return { created: true };
  }
}

@Module({})
class ReplicaAppModule {
  static forRoot(primaryUrl: string, replicaUrl: string, replicas: TenancyReplicaOptions) {
    return {
      module: ReplicaAppModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({
            type: 'postgres' as const,
            replication: { master: { url: primaryUrl }, slaves: [{ url: replicaUrl }] },
            extra: { max: 3, connectionTimeoutMillis: 5_000 },
          }),
          dataSourceFactory: createTenancyDataSource,
        }),
        TenancyModule.forRoot({
          jwt: { secret: SECRET },
          roles: ['agent'],
          contextStatement: contextStatementFromEnv(),
          catalogCheck: { schemas: ['tenancy', 'support'] },
          replicas,
        }),
      ],
      controllers: [TicketsController, ArchiveController],
    } satisfies DynamicModule;
  }
}

async function createReplicaApp(
  cluster: ReplicaCluster,
  replicas: TenancyReplicaOptions,
): Promise<INestApplication> {
  const module = ReplicaAppModule.forRoot(cluster.primary.appUrl, cluster.replica.appUrl, replicas);
  const app = await createHttpApp(module, 'express', { logger: false, abortOnError: false });
  await initHttpApp(app);
  return app;
}

/** A tenant with two users' tokens. */
interface Tenant {
  id: string;
  token: string;
  otherUserToken: string;
  userId: string;
}

/** Writes a ticket as the owner, on the primary, in the tenant's context. */
function insertTicket(owner: Client, tenantId: string, subject: string): Promise<unknown> {
  return inTenant(owner, tenantId, () =>
    owner.query(
      'INSERT INTO support.tickets (tenant_id, subject, requester_id) VALUES ($1, $2, $3)',
      [tenantId, subject, randomUUID()],
    ),
  );
}

/** The subjects of a tenant's tickets on the primary, read as the owner in the tenant's context. */
async function storedSubjects(owner: Client, tenantId: string): Promise<string[]> {
  const { rows } = await inTenant(owner, tenantId, () =>
    owner.query<{ subject: string }>('SELECT subject FROM support.tickets ORDER BY subject'),
  );
  return rows.map((r) => r.subject);
}

async function seedTenant(owner: Client, slug: string, subjects: string[]): Promise<Tenant> {
  const id = await createTenant(owner, slug);
  for (const subject of subjects) await insertTicket(owner, id, subject);
  const userId = randomUUID();
  return {
    id,
    userId,
    token: signToken(SECRET, { tenantId: id, userId, role: 'agent' }),
    otherUserToken: signToken(SECRET, { tenantId: id, userId: randomUUID(), role: 'agent' }),
  };
}

function get(app: INestApplication, path: string, token: string) {
  return request(app.getHttpServer()).get(path).set('Authorization', `Bearer ${token}`);
}

function post(app: INestApplication, path: string, token: string, body: object) {
  return request(app.getHttpServer()).post(path).set('Authorization', `Bearer ${token}`).send(body);
}

/** Asks `path` until `done` holds for its body (the replicas' health is re-checked in the background). */
async function until(
  app: INestApplication,
  path: string,
  token: string,
  done: (body: Seen) => boolean,
): Promise<Seen> {
  let body: Seen | undefined;
  for (let i = 0; i < 200; i++) {
    const res = await get(app, path, token);
    body = res.body as Seen;
    if (res.status === 200 && done(body)) return body;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${path} never reached the expected state; last: ${JSON.stringify(body)}`);
}

describeWithReplica('read-only tenant scopes on a streaming replica', () => {
  let cluster: ReplicaCluster;
  let owner: Client;
  let a: Tenant;
  let b: Tenant;
  let c: Tenant;
  let app: INestApplication;

  beforeAll(async () => {
    cluster = await startReplicaCluster();
    owner = new Client({ connectionString: cluster.primary.ownerUrl });
    await owner.connect();
    a = await seedTenant(owner, 'replica-a', ['a-one', 'a-two']);
    b = await seedTenant(owner, 'replica-b', ['b-one']);
    c = await seedTenant(owner, 'replica-c', ['c-one']);
    await cluster.waitForReplay();
    app = await createReplicaApp(cluster, { readYourWritesMs: 60_000, healthTtlMs: 0 });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await owner?.end();
    await cluster?.stop();
  });

  it("runs a read-only handler on the replica, read-only, with the caller's tenant and only its rows", async () => {
    const [seenA, seenB] = [
      await get(app, '/tickets/read', a.token),
      await get(app, '/tickets/read', b.token),
    ];
    expect([seenA.status, seenA.body]).toEqual([
      200,
      { replica: true, readOnly: 'on', tenant: a.id, subjects: ['a-one', 'a-two'] },
    ]);
    expect([seenB.status, seenB.body]).toEqual([
      200,
      { replica: true, readOnly: 'on', tenant: b.id, subjects: ['b-one'] },
    ]);
  });

  it('runs every other handler on the primary, read-write', async () => {
    const res = await get(app, '/tickets/primary', a.token);
    expect([res.status, res.body]).toEqual([
      200,
      { replica: false, readOnly: 'off', tenant: a.id, subjects: ['a-one', 'a-two'] },
    ]);
  });

  it('refuses a write in a read-only handler with a 500 and writes nothing anywhere', async () => {
    const res = await post(app, '/tickets/in-read-only', b.token, { subject: 'b-sneaky' });
    expect([res.status, res.body]).toEqual([
      500,
      { statusCode: 500, message: 'Internal server error', error: 'Internal Server Error' },
    ]);
    expect(await storedSubjects(owner, b.id)).toEqual(['b-one']);
  });

  it('refuses a write in run(..., { readOnly: true }) with TenantReadOnlyScopeError', async () => {
    const runner = app.get(TenantRunner);
    const ds = app.get(DataSource);
    const context = { tenantId: b.id, userId: b.userId, role: 'agent' };
    const write = runner.run(
      context,
      async () => {
        const [{ replica }] = await ds.query<{ replica: boolean }[]>(
          'SELECT pg_is_in_recovery() AS replica',
        );
        expect(replica).toBe(true);
        await ds.query(
          'INSERT INTO support.tickets (tenant_id, subject, requester_id) VALUES ($1, $2, $3)',
          [b.id, 'b-run', b.userId],
        );
      },
      { readOnly: true },
    );
    await expect(write).rejects.toBeInstanceOf(TenantReadOnlyScopeError);
    await expect(write).rejects.toThrow(
      /a read-only tenant scope cannot write \(INSERT INTO support\.tickets/,
    );
  });

  it('reads from the replica in a controller marked readOnly, and writes from its handler marked @TenantReadOnly(false)', async () => {
    const read = await get(app, '/archive', c.token);
    expect([read.status, read.body]).toEqual([200, { replica: true, readOnly: 'on' }]);
    const written = await post(app, '/archive', c.token, { subject: 'c-archived' });
    expect([written.status, written.body]).toEqual([201, { created: true }]);
    expect(await storedSubjects(owner, c.id)).toEqual(['c-archived', 'c-one']);
  });

  it("keeps a writer's reads on the primary after its write (read-your-writes), and no one else's", async () => {
    await cluster.pauseReplay();
    try {
      const created = await post(app, '/tickets', a.token, { subject: 'a-three' });
      expect([created.status, created.body]).toEqual([201, { created: true }]);
      const writer = await get(app, '/tickets/read', a.token);
      expect(writer.body).toEqual({
        replica: false,
        readOnly: 'on',
        tenant: a.id,
        subjects: ['a-one', 'a-three', 'a-two'],
      });
      const colleague = await get(app, '/tickets/read', a.otherUserToken);
      expect(colleague.body).toEqual({
        replica: true,
        readOnly: 'on',
        tenant: a.id,
        subjects: ['a-one', 'a-two'],
      });
    } finally {
      await cluster.resumeReplay();
      await cluster.waitForReplay();
    }
  });

  it("wires the demo app's GET handlers to the replica (support-api with replicaDatabaseUrls)", async () => {
    const support = await createSupportApp({
      databaseUrl: cluster.primary.appUrl,
      replicaDatabaseUrls: [cluster.replica.appUrl],
      jwtSecret: SECRET,
      sla: false,
      logger: false,
    });
    const subjects = async (token: string) => {
      const res = await get(support, '/tickets?limit=50', token);
      expect(res.status).toBe(200);
      return (res.body as { items: { subject: string }[] }).items.map((t) => t.subject).sort();
    };
    try {
      await cluster.pauseReplay();
      await insertTicket(owner, c.id, 'c-unreplayed');
      expect(await subjects(c.otherUserToken)).toEqual(['c-archived', 'c-one']);
      const created = await post(support, '/tickets', c.token, { subject: 'c-posted' });
      expect(created.status).toBe(201);
      expect(await subjects(c.token)).toEqual(['c-archived', 'c-one', 'c-posted', 'c-unreplayed']);
    } finally {
      await cluster.resumeReplay();
      await cluster.waitForReplay();
      await support.close();
    }
  });

  describe('a replica that lags more than maxLagMs', () => {
    let lenient: INestApplication;
    let strict: INestApplication;

    beforeAll(async () => {
      lenient = await createReplicaApp(cluster, { maxLagMs: 300, healthTtlMs: 0 });
      strict = await createReplicaApp(cluster, {
        maxLagMs: 300,
        healthTtlMs: 0,
        whenUnavailable: 'fail',
      });
    });

    afterAll(async () => {
      await cluster.resumeReplay();
      await lenient?.close();
      await strict?.close();
    });

    it("falls back to the primary with whenUnavailable 'primary', and answers 503 with 'fail'", async () => {
      await cluster.pauseReplay();
      await insertTicket(owner, b.id, 'b-two');
      const fallback = await until(lenient, '/tickets/read', b.token, (seen) => !seen.replica);
      expect(fallback).toEqual({
        replica: false,
        readOnly: 'on',
        tenant: b.id,
        subjects: ['b-one', 'b-two'],
      });
      let refused: request.Response | undefined;
      for (let i = 0; i < 200 && refused?.status !== 503; i++) {
        refused = await get(strict, '/tickets/read', b.token);
        if (refused.status !== 503) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect([refused?.status, refused?.body]).toEqual([
        503,
        {
          statusCode: 503,
          message: 'read replica unavailable, retry the request',
          error: 'Service Unavailable',
        },
      ]);
      const write = await get(strict, '/tickets/primary', b.token);
      expect(write.status).toBe(200);
    });

    it('goes back to the replica once it has caught up', async () => {
      await cluster.resumeReplay();
      await cluster.waitForReplay();
      const back = await until(strict, '/tickets/read', b.token, (seen) => seen.replica);
      expect(back).toEqual({
        replica: true,
        readOnly: 'on',
        tenant: b.id,
        subjects: ['b-one', 'b-two'],
      });
    });
  });

  describe('a replica that is down', () => {
    let lenient: INestApplication;
    let strict: INestApplication;

    beforeAll(async () => {
      lenient = await createReplicaApp(cluster, { healthTtlMs: 0 });
      strict = await createReplicaApp(cluster, { healthTtlMs: 0, whenUnavailable: 'fail' });
      await cluster.stopReplica();
    });

    afterAll(async () => {
      await lenient?.close();
      await strict?.close();
    });

    it('reads from the primary, read-only, or answers 503, as configured', async () => {
      const fallback = await get(lenient, '/tickets/read', a.token);
      expect([fallback.status, fallback.body]).toEqual([
        200,
        { replica: false, readOnly: 'on', tenant: a.id, subjects: ['a-one', 'a-three', 'a-two'] },
      ]);
      const refused = await get(strict, '/tickets/read', a.token);
      expect([refused.status, refused.body]).toEqual([
        503,
        {
          statusCode: 503,
          message: 'read replica unavailable, retry the request',
          error: 'Service Unavailable',
        },
      ]);
    });

    it('refuses a write in a read-only scope on the primary too', async () => {
      const res = await post(lenient, '/tickets/in-read-only', a.token, { subject: 'a-sneaky' });
      expect(res.status).toBe(500);
      expect(await storedSubjects(owner, a.id)).toEqual(['a-one', 'a-three', 'a-two']);
    });

    it('uses the replica again once it is back', async () => {
      await cluster.startReplica();
      await cluster.waitForReplay();
      const back = await until(strict, '/tickets/read', a.token, (seen) => seen.replica);
      expect(back.subjects).toEqual(['a-one', 'a-three', 'a-two']);
    });
  });
});
