import { randomUUID } from 'node:crypto';
import { contextStatementFromEnv } from '@app/demo-kit';
import { INestApplication, Inject, Injectable, LoggerService, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import {
  ClsPluginTransactional,
  Propagation,
  Transactional,
  TransactionalAdapter,
  TransactionAlreadyActiveError,
  TransactionHost,
  TransactionNotActiveError,
} from '@nestjs-cls/transactional';
import { Client } from 'pg';
import {
  Column,
  DataSource,
  Entity,
  EntityManager,
  PrimaryColumn,
  PrimaryGeneratedColumn,
} from 'typeorm';
import { IsolationLevel } from 'typeorm/driver/types/IsolationLevel';
import {
  createTenancyDataSource,
  enableTenantRls,
  TenancyError,
  TenancyModule,
  TenantContext,
  TenantRunner,
} from '@app/tenancy';
import { TenancyTransactionalAdapter } from '@app/tenancy/transactional';
import { connect, createTenant, inTenant, suffix } from '../support/db';
import { testUrl } from '../support/test-env';

/**
 * @nestjs-cls/transactional with the library's adapter. Part A ports nestjs-cls's own suites (the
 * TypeORM adapter's transactional-adapter-typeorm.spec.ts, and the propagation and transactional
 * specs of @nestjs-cls/transactional, whose mock connection becomes real PostgreSQL here) and runs
 * them outside any tenant scope, on a plain table: there the adapter behaves like the stock one.
 * Part B runs the same propagation modes inside a tenant scope, on a table under RLS, where the
 * scope's single tenant transaction is the active one.
 */

/** The one place this suite enters a tenant scope. */
function inScope<T>(app: INestApplication, context: TenantContext, fn: () => Promise<T>) {
  return app.get(TenantRunner).run(context, fn);
}

/**
 * The adapter as TransactionHost and @Transactional type it: its transaction is an EntityManager,
 * its options TypeORM's isolation level (as with the stock TypeORM adapter).
 */
type Adapter = TransactionalAdapter<DataSource, EntityManager, { isolationLevel: IsolationLevel }>;

const SCHEMA = `tx_${suffix()}`;

/** Upstream's User: a plain table (no tenant column, no RLS) that the app role may write. */
@Entity({ schema: SCHEMA, name: 'users' })
class User {
  @PrimaryGeneratedColumn()
  id: number;

  @Column()
  name: string;

  @Column()
  email: string;
}

/** A tenant table under RLS, for the tenant variant. */
@Entity({ schema: SCHEMA, name: 'items' })
class Item {
  @PrimaryColumn({ name: 'tenant_id', type: 'uuid' })
  tenantId: string;

  @PrimaryColumn({ type: 'uuid', default: () => 'gen_random_uuid()' })
  id: string;

  @Column()
  name: string;
}

// ---------------------------------------------------------------------------------------------
// Part A services: upstream's TypeORM adapter suite (UserRepository, UserService)
// ---------------------------------------------------------------------------------------------

@Injectable()
class UserRepository {
  constructor(private readonly txHost: TransactionHost<Adapter>) {}

  async getUserById(id: number) {
    return this.txHost.tx.getRepository(User).findOneBy({ id });
  }

  async createUser(name: string) {
    return this.txHost.tx.getRepository(User).save({ name, email: `${name}@email.com` });
  }

  async isolation(): Promise<string> {
    const [row] = await this.txHost.tx.query('SHOW transaction_isolation');
    return row.transaction_isolation;
  }
}

@Injectable()
class UserService {
  constructor(
    private readonly users: UserRepository,
    private readonly txHost: TransactionHost<Adapter>,
    private readonly dataSource: DataSource,
  ) {}

  async withoutTransaction() {
    const r1 = await this.users.createUser('Jim');
    const r2 = await this.users.getUserById(r1.id);
    return { r1, r2 };
  }

  @Transactional()
  async transactionWithDecorator() {
    const r1 = await this.users.createUser('John');
    const r2 = await this.users.getUserById(r1.id);
    return { r1, r2 };
  }

  /** r2 reads through the DataSource itself, outside the transaction: it cannot see r1 yet. */
  @Transactional<Adapter>({ isolationLevel: 'SERIALIZABLE' })
  async transactionWithDecoratorWithOptions() {
    const r1 = await this.users.createUser('James');
    const r2 = await this.dataSource
      .getRepository(User)
      .createQueryBuilder('user')
      .where('user.id = :id', { id: r1.id })
      .getOne();
    const r3 = await this.users.getUserById(r1.id);
    return { r1, r2, r3, isolation: await this.users.isolation() };
  }

  async transactionWithFunctionWrapper() {
    return this.txHost.withTransaction({ isolationLevel: 'SERIALIZABLE' }, async () => {
      const r1 = await this.users.createUser('Joe');
      const r2 = await this.dataSource
        .getRepository(User)
        .createQueryBuilder('user')
        .where('user.id = :id', { id: r1.id })
        .getOne();
      const r3 = await this.users.getUserById(r1.id);
      return { r1, r2, r3, isolation: await this.users.isolation() };
    });
  }

  @Transactional()
  async transactionWithDecoratorError() {
    await this.users.createUser('Nobody');
    throw new Error('Rollback');
  }

  @Transactional()
  async transactionalHasNested(name?: string) {
    await this.nestedTransaction(name);
    try {
      await this.nestedTransactionError(name);
    } catch {
      // the savepoint is rolled back; the outer transaction goes on
    }
  }

  @Transactional(Propagation.Nested)
  async nestedTransaction(name = 'Anybody') {
    await this.users.createUser(name);
  }

  @Transactional(Propagation.Nested)
  async nestedTransactionError(name = 'Anybody') {
    await this.users.createUser(name);
    throw new Error('nested fails');
  }
}

// ---------------------------------------------------------------------------------------------
// Part A services: upstream's propagation and transactional specs. Their mock records, per
// client, BEGIN / SAVEPOINT / COMMIT around `SELECT n`; here doWork(n) inserts a row `work-n`
// and records the transaction it wrote in (pg_current_xact_id(), the top-level transaction even
// inside a savepoint), whether nestjs-cls had a transaction active, and the isolation level.
// ---------------------------------------------------------------------------------------------

interface Work {
  n: number;
  xid: string;
  pid: number;
  isolation: string;
  inTransaction: boolean;
}

const works: Work[] = [];

/** The works grouped by database transaction, in the order each transaction first wrote. */
function transactions(): number[][] {
  const byXid = new Map<string, number[]>();
  for (const w of works) byXid.set(w.xid, [...(byXid.get(w.xid) ?? []), w.n]);
  return [...byXid.values()];
}

/** The works that ran with a nestjs-cls transaction active. */
function inTransaction(): number[] {
  return works.filter((w) => w.inTransaction).map((w) => w.n);
}

@Injectable()
class CalledService {
  constructor(private readonly txHost: TransactionHost<Adapter>) {}

  async doWork(n: number): Promise<number> {
    const [row] = await this.txHost.tx.query(
      `INSERT INTO ${SCHEMA}.users (name, email) VALUES ($1, $2)
       RETURNING pg_current_xact_id()::text AS xid, pg_backend_pid() AS pid,
                 current_setting('transaction_isolation') AS isolation`,
      [`work-${n}`, `work-${n}@email.com`],
    );
    works.push({ n, ...row, inTransaction: this.txHost.isTransactionActive() });
    return n;
  }

  async doOtherWork(n: number): Promise<number> {
    return this.doWork(n);
  }
}

@Injectable()
class NestedTransactionsService {
  constructor(private readonly calledService: CalledService) {}

  @Transactional()
  async withDefaultPropagation(n: number) {
    return this.calledService.doWork(n);
  }

  @Transactional(Propagation.Required)
  async withRequiredPropagation(n: number) {
    return this.calledService.doWork(n);
  }

  @Transactional(Propagation.RequiresNew)
  async withRequiresNewPropagation(n: number) {
    return this.calledService.doWork(n);
  }

  @Transactional(Propagation.NotSupported)
  async withNotSupportedPropagation(n: number) {
    return this.calledService.doWork(n);
  }

  @Transactional(Propagation.Mandatory)
  async withMandatoryPropagation(n: number) {
    return this.calledService.doWork(n);
  }

  @Transactional(Propagation.Never)
  async withNeverPropagation(n: number) {
    return this.calledService.doWork(n);
  }

  @Transactional(Propagation.Supports)
  async withSupportsPropagation(n: number) {
    return this.calledService.doWork(n);
  }

  @Transactional(Propagation.Nested)
  async withNestedPropagation(n: number) {
    return this.calledService.doWork(n);
  }

  @Transactional(Propagation.Nested)
  async withNestedPropagationThatThrows(n: number) {
    await this.calledService.doWork(n);
    throw new Error('This is a test error');
  }
}

@Injectable()
class CallingServiceWithoutTransaction {
  @Inject(CalledService)
  protected readonly calledService: CalledService;
  @Inject(TransactionHost)
  protected readonly txHost: TransactionHost<Adapter>;
  @Inject(NestedTransactionsService)
  protected readonly nested: NestedTransactionsService;

  async defaultPropagation() {
    await this.calledService.doWork(1);
    await this.nested.withDefaultPropagation(2);
  }
  async explicitRequiredPropagation() {
    await this.calledService.doWork(3);
    await this.nested.withRequiredPropagation(4);
  }
  async requiresNewPropagation() {
    await this.calledService.doWork(5);
    await this.nested.withRequiresNewPropagation(6);
  }
  async notSupportedPropagation() {
    await this.calledService.doWork(7);
    await this.nested.withNotSupportedPropagation(8);
  }
  async mandatoryPropagation() {
    await this.calledService.doWork(9);
    await this.nested.withMandatoryPropagation(10);
  }
  async neverPropagation() {
    await this.calledService.doWork(11);
    await this.nested.withNeverPropagation(12);
  }
  async supportsPropagation() {
    await this.calledService.doWork(13);
    await this.nested.withSupportsPropagation(14);
  }
  async nestedPropagation() {
    await this.calledService.doWork(15);
    await this.nested.withNestedPropagation(16);
    await this.calledService.doOtherWork(17);
  }
  async nestedPropagationThatThrows() {
    await this.calledService.doWork(18);
    try {
      await this.nested.withNestedPropagationThatThrows(19);
    } catch {
      // ignore the nested error
    }
    await this.calledService.doWork(20);
  }
}

@Injectable()
class CallingServiceWithTransaction extends CallingServiceWithoutTransaction {
  @Transactional()
  override defaultPropagation() {
    return super.defaultPropagation();
  }
  @Transactional()
  override explicitRequiredPropagation() {
    return super.explicitRequiredPropagation();
  }
  @Transactional()
  override requiresNewPropagation() {
    return super.requiresNewPropagation();
  }
  @Transactional()
  override notSupportedPropagation() {
    return super.notSupportedPropagation();
  }
  @Transactional()
  override mandatoryPropagation() {
    return super.mandatoryPropagation();
  }
  @Transactional()
  override neverPropagation() {
    return super.neverPropagation();
  }
  @Transactional()
  override supportsPropagation() {
    return super.supportsPropagation();
  }
  @Transactional()
  override nestedPropagation() {
    return super.nestedPropagation();
  }
  @Transactional()
  override nestedPropagationThatThrows() {
    return super.nestedPropagationThatThrows();
  }

  @Transactional<Adapter>(Propagation.NotSupported, { isolationLevel: 'SERIALIZABLE' })
  async multipleNestedTransactions() {
    await this.calledService.doWork(10);
    await this.requiredPropagationWithOptions(11);
    await this.txHost.withTransaction(
      Propagation.RequiresNew,
      { isolationLevel: 'SERIALIZABLE' },
      async () => {
        await this.nested.withRequiresNewPropagation(12);
        await this.defaultPropagationWithOptions(13);
        await this.calledService.doWork(14);
        await this.mandatoryPropagationWithOptions(15);
        await this.supportsPropagationWithOptions(16);
        throw new Error('Bad thing');
      },
    );
  }

  @Transactional<Adapter>(Propagation.Required, { isolationLevel: 'SERIALIZABLE' })
  private async requiredPropagationWithOptions(n: number) {
    return this.nested.withRequiredPropagation(n);
  }

  @Transactional<Adapter>({ isolationLevel: 'SERIALIZABLE' })
  private async defaultPropagationWithOptions(n: number) {
    return this.nested.withRequiredPropagation(n);
  }

  @Transactional<Adapter>(Propagation.Mandatory, { isolationLevel: 'SERIALIZABLE' })
  private async mandatoryPropagationWithOptions(n: number) {
    return this.nested.withRequiredPropagation(n);
  }

  @Transactional<Adapter>(Propagation.Supports, { isolationLevel: 'SERIALIZABLE' })
  private async supportsPropagationWithOptions(n: number) {
    return this.nested.withSupportsPropagation(n);
  }
}

/** Upstream transactional.spec.ts: transactions started side by side. */
@Injectable()
class ParallelService {
  constructor(
    private readonly calledService: CalledService,
    private readonly txHost: TransactionHost<Adapter>,
  ) {}

  async parallelTransactions() {
    return Promise.all([
      this.txHost.withTransaction(() => this.calledService.doWork(7)),
      this.calledService.doWork(9),
      this.nestedDecorator(8),
    ]);
  }

  @Transactional()
  private async nestedDecorator(n: number) {
    return this.calledService.doWork(n);
  }
}

// ---------------------------------------------------------------------------------------------
// Part B services: the tenant variant
// ---------------------------------------------------------------------------------------------

/** What code sees where it runs: the current tenant's item names, and its transaction. */
interface Probe {
  names: string[];
  xid: string;
  pid: number;
  user: string;
  isolation: string;
  tenantId: string;
  active: boolean;
}

@Injectable()
class ItemsService {
  constructor(private readonly txHost: TransactionHost<Adapter>) {}

  /** Saves an item through the transaction host, then probes. */
  async add(tenantId: string, name: string): Promise<Probe> {
    await this.txHost.tx.getRepository(Item).save({ tenantId, name });
    return this.probe();
  }

  /** Saves an item, then fails. */
  async addThenFail(tenantId: string, name: string): Promise<never> {
    await this.txHost.tx.getRepository(Item).save({ tenantId, name });
    throw new Error(`${name} fails`);
  }

  async probe(): Promise<Probe> {
    const tx = this.txHost.tx;
    const items = await tx.getRepository(Item).find({ order: { name: 'ASC' } });
    const [row] = await tx.query(
      `SELECT pg_current_xact_id()::text AS xid, pg_backend_pid() AS pid, current_user AS "user",
              current_setting('transaction_isolation') AS isolation,
              current_setting('app.tenant_id', true) AS "tenantId"`,
    );
    return {
      names: items.map((i: Item) => i.name),
      ...row,
      active: this.txHost.isTransactionActive(),
    };
  }
}

/** Each propagation mode as a @Transactional method around a callback. */
@Injectable()
class Decorated {
  @Transactional(Propagation.Required)
  required<T>(fn: () => Promise<T>) {
    return fn();
  }
  @Transactional(Propagation.RequiresNew)
  requiresNew<T>(fn: () => Promise<T>) {
    return fn();
  }
  @Transactional(Propagation.NotSupported)
  notSupported<T>(fn: () => Promise<T>) {
    return fn();
  }
  @Transactional(Propagation.Mandatory)
  mandatory<T>(fn: () => Promise<T>) {
    return fn();
  }
  @Transactional(Propagation.Never)
  never<T>(fn: () => Promise<T>) {
    return fn();
  }
  @Transactional(Propagation.Supports)
  supports<T>(fn: () => Promise<T>) {
    return fn();
  }
  @Transactional(Propagation.Nested)
  nested<T>(fn: () => Promise<T>) {
    return fn();
  }
  @Transactional<Adapter>({ isolationLevel: 'SERIALIZABLE' })
  requiredSerializable<T>(fn: () => Promise<T>) {
    return fn();
  }
  @Transactional<Adapter>(Propagation.Nested, { isolationLevel: 'SERIALIZABLE' })
  nestedSerializable<T>(fn: () => Promise<T>) {
    return fn();
  }
  @Transactional<Adapter>(Propagation.RequiresNew, { isolationLevel: 'SERIALIZABLE' })
  requiresNewSerializable<T>(fn: () => Promise<T>) {
    return fn();
  }

  by(propagation: Propagation): <T>(fn: () => Promise<T>) => Promise<T> {
    const methods: Record<Propagation, <T>(fn: () => Promise<T>) => Promise<T>> = {
      [Propagation.Required]: (fn) => this.required(fn),
      [Propagation.RequiresNew]: (fn) => this.requiresNew(fn),
      [Propagation.NotSupported]: (fn) => this.notSupported(fn),
      [Propagation.Mandatory]: (fn) => this.mandatory(fn),
      [Propagation.Never]: (fn) => this.never(fn),
      [Propagation.Supports]: (fn) => this.supports(fn),
      [Propagation.Nested]: (fn) => this.nested(fn),
    };
    return methods[propagation];
  }
}

const SERVICES = [
  UserRepository,
  UserService,
  CalledService,
  NestedTransactionsService,
  CallingServiceWithoutTransaction,
  CallingServiceWithTransaction,
  ParallelService,
  ItemsService,
  Decorated,
];

@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      useFactory: () => ({
        type: 'postgres',
        url: testUrl('appUrl'),
        entities: [User, Item],
        extra: { max: 4 },
      }),
      dataSourceFactory: createTenancyDataSource,
    }),
    TenancyModule.forRoot({
      jwt: { secret: 'transactional-test-secret-0123456789-abcdefghij' },
      roles: ['member'],
      contextStatement: contextStatementFromEnv(),
      catalogCheck: { schemas: ['tenancy', SCHEMA] },
      cls: {
        plugins: [
          new ClsPluginTransactional({
            imports: [],
            adapter: new TenancyTransactionalAdapter({ dataSourceToken: getDataSourceToken() }),
          }),
        ],
      },
    }),
  ],
  providers: SERVICES,
})
class TransactionalAppModule {}

/** Collects warnings; nestjs-cls's TransactionHost logs under its own context name. */
const warn = jest.fn();
const logger: LoggerService = { log: () => undefined, error: () => undefined, warn };
const hostWarnings = () =>
  warn.mock.calls.filter((call) => call[1] === 'TransactionHost').map((call) => call[0]);

describe('@nestjs-cls/transactional with TenancyTransactionalAdapter', () => {
  let owner: Client;
  let app: INestApplication;
  let ds: DataSource;
  let txHost: TransactionHost<Adapter>;
  let appRole: string;
  let tenantA: string;
  let tenantB: string;

  beforeAll(async () => {
    owner = await connect('owner');
    await owner.query(`CREATE SCHEMA ${SCHEMA}`);
    await owner.query(`GRANT USAGE ON SCHEMA ${SCHEMA} TO app_user`);
    await owner.query(`
      CREATE TABLE ${SCHEMA}.users (
        id serial PRIMARY KEY,
        name text NOT NULL,
        email text NOT NULL)`);
    await owner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${SCHEMA}.users TO app_user`);
    await owner.query(`GRANT USAGE ON SEQUENCE ${SCHEMA}.users_id_seq TO app_user`);
    await owner.query(`
      CREATE TABLE ${SCHEMA}.items (
        tenant_id uuid NOT NULL REFERENCES tenancy.tenants (id),
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        name text NOT NULL,
        PRIMARY KEY (tenant_id, id))`);
    await enableTenantRls(owner, `${SCHEMA}.items`);
    tenantA = await createTenant(owner, 'tx-a');
    tenantB = await createTenant(owner, 'tx-b');

    app = await NestFactory.create(TransactionalAppModule, { logger: false, abortOnError: false });
    app.useLogger(logger);
    await app.init();
    ds = app.get(DataSource);
    txHost = app.get(TransactionHost);
    appRole = (await ds.query<{ role: string }[]>('SELECT current_user AS role'))[0].role;
  });

  afterAll(async () => {
    await app?.close();
    await owner?.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await owner?.end();
  });

  /** Empty tables, one committed item per tenant, nothing recorded. */
  beforeEach(async () => {
    await owner.query(`TRUNCATE ${SCHEMA}.users, ${SCHEMA}.items RESTART IDENTITY`);
    for (const [tenant, name] of [
      [tenantA, 'a-seed'],
      [tenantB, 'b-seed'],
    ]) {
      await inTenant(owner, tenant, () =>
        owner.query(`INSERT INTO ${SCHEMA}.items (tenant_id, name) VALUES ($1, $2)`, [
          tenant,
          name,
        ]),
      );
    }
    works.length = 0;
    warn.mockClear();
  });

  /** The names in the users table, read through the app outside any scope (as upstream does). */
  const storedUsers = async () =>
    (await ds.manager.find(User, { order: { id: 'ASC' } })).map((u) => u.name);

  describe('A. outside any tenant scope (upstream behaviour, plain table)', () => {
    describe('upstream transactional-adapter-typeorm.spec.ts', () => {
      let service: UserService;
      beforeAll(() => {
        service = app.get(UserService);
      });

      it('should work without an active transaction', async () => {
        const { r1, r2 } = await service.withoutTransaction();
        expect(r1).toEqual(r2);
        expect(await ds.manager.find(User)).toEqual([r1]);
      });

      it('should work with in nested tx (partial rollback)', async () => {
        await service.transactionalHasNested('Anybody2');
        expect(await ds.manager.find(User, { where: { name: 'Anybody2' } })).toHaveLength(1);
        expect(await storedUsers()).toEqual(['Anybody2']);
      });

      it('should run a transaction with the default options with a decorator', async () => {
        const { r1, r2 } = await service.transactionWithDecorator();
        expect(r1).toEqual(r2);
        expect(await ds.manager.find(User)).toEqual([r1]);
      });

      it('should run a transaction with the specified options with a decorator', async () => {
        const { r1, r2, r3, isolation } = await service.transactionWithDecoratorWithOptions();
        expect(r1).toEqual(r3);
        expect(r2).toBeNull();
        expect(isolation).toBe('serializable');
        expect(await ds.manager.find(User)).toEqual([r1]);
      });

      it('should run a transaction with the specified options with a function wrapper', async () => {
        const { r1, r2, r3, isolation } = await service.transactionWithFunctionWrapper();
        expect(r1).toEqual(r3);
        expect(r2).toBeNull();
        expect(isolation).toBe('serializable');
        expect(await ds.manager.find(User)).toEqual([r1]);
      });

      it('should rollback a transaction on error', async () => {
        await expect(service.transactionWithDecoratorError()).rejects.toThrow(
          new Error('Rollback'),
        );
        expect(await storedUsers()).toEqual([]);
      });

      it('should correctly set default options on the adapter instance', () => {
        const adapter = new TenancyTransactionalAdapter({
          dataSourceToken: getDataSourceToken(),
          defaultTxOptions: { isolationLevel: 'READ COMMITTED' },
        });
        expect(adapter.defaultTxOptions).toEqual({ isolationLevel: 'READ COMMITTED' });
      });
    });

    describe('upstream propagation.spec.ts: when run without an existing transaction', () => {
      let withoutTx: CallingServiceWithoutTransaction;
      beforeAll(() => {
        withoutTx = app.get(CallingServiceWithoutTransaction);
      });

      it('should create a new transaction by default', async () => {
        await withoutTx.defaultPropagation();
        expect(transactions()).toEqual([[1], [2]]);
        expect(inTransaction()).toEqual([2]);
        expect(await storedUsers()).toEqual(['work-1', 'work-2']);
      });

      it('should create a new transaction in REQUIRED mode', async () => {
        await withoutTx.explicitRequiredPropagation();
        expect(transactions()).toEqual([[3], [4]]);
        expect(inTransaction()).toEqual([4]);
        expect(await storedUsers()).toEqual(['work-3', 'work-4']);
      });

      it('should create a new transaction in REQUIRES_NEW mode', async () => {
        await withoutTx.requiresNewPropagation();
        expect(transactions()).toEqual([[5], [6]]);
        expect(inTransaction()).toEqual([6]);
        expect(await storedUsers()).toEqual(['work-5', 'work-6']);
      });

      it('should not start a transaction in NOT_SUPPORTED mode', async () => {
        await withoutTx.notSupportedPropagation();
        expect(transactions()).toEqual([[7], [8]]);
        expect(inTransaction()).toEqual([]);
        expect(await storedUsers()).toEqual(['work-7', 'work-8']);
      });

      it('should throw a TransactionNotActiveError error in MANDATORY mode', async () => {
        await expect(withoutTx.mandatoryPropagation()).rejects.toThrow(TransactionNotActiveError);
        expect(transactions()).toEqual([[9]]);
        expect(await storedUsers()).toEqual(['work-9']);
      });

      it('should not start a transaction in NEVER mode', async () => {
        await withoutTx.neverPropagation();
        expect(transactions()).toEqual([[11], [12]]);
        expect(inTransaction()).toEqual([]);
        expect(await storedUsers()).toEqual(['work-11', 'work-12']);
      });

      it('should not start a transaction in SUPPORTS mode', async () => {
        await withoutTx.supportsPropagation();
        expect(transactions()).toEqual([[13], [14]]);
        expect(inTransaction()).toEqual([]);
        expect(await storedUsers()).toEqual(['work-13', 'work-14']);
      });

      it('should create a new transaction in NESTED mode', async () => {
        await withoutTx.nestedPropagation();
        expect(transactions()).toEqual([[15], [16], [17]]);
        expect(inTransaction()).toEqual([16]);
        expect(await storedUsers()).toEqual(['work-15', 'work-16', 'work-17']);
      });

      it('isTransactionActive() is false', () => {
        expect(txHost.isTransactionActive()).toBe(false);
      });
    });

    describe('upstream propagation.spec.ts: when run in an existing transaction', () => {
      let withTx: CallingServiceWithTransaction;
      beforeAll(() => {
        withTx = app.get(CallingServiceWithTransaction);
      });

      it('should re-use an existing transaction by default', async () => {
        await withTx.defaultPropagation();
        expect(transactions()).toEqual([[1, 2]]);
        expect(inTransaction()).toEqual([1, 2]);
        expect(await storedUsers()).toEqual(['work-1', 'work-2']);
      });

      it('should re-use an existing transaction in REQUIRED mode', async () => {
        await withTx.explicitRequiredPropagation();
        expect(transactions()).toEqual([[3, 4]]);
        expect(inTransaction()).toEqual([3, 4]);
        expect(await storedUsers()).toEqual(['work-3', 'work-4']);
      });

      it('should create a new transaction in REQUIRES_NEW mode', async () => {
        await withTx.requiresNewPropagation();
        expect(transactions()).toEqual([[5], [6]]);
        expect(inTransaction()).toEqual([5, 6]);
        expect(works[0].pid).not.toBe(works[1].pid);
        expect(await storedUsers()).toEqual(['work-5', 'work-6']);
      });

      it('should run the nested function without a transaction in NOT_SUPPORTED mode', async () => {
        await withTx.notSupportedPropagation();
        expect(transactions()).toEqual([[7], [8]]);
        expect(inTransaction()).toEqual([7]);
        expect(works[0].pid).not.toBe(works[1].pid);
        expect(await storedUsers()).toEqual(['work-7', 'work-8']);
      });

      it('should re-use the existing transaction in MANDATORY mode', async () => {
        await withTx.mandatoryPropagation();
        expect(transactions()).toEqual([[9, 10]]);
        expect(inTransaction()).toEqual([9, 10]);
        expect(await storedUsers()).toEqual(['work-9', 'work-10']);
      });

      it('should throw a TransactionAlreadyActiveError and rollback in NEVER mode', async () => {
        await expect(withTx.neverPropagation()).rejects.toThrow(TransactionAlreadyActiveError);
        expect(transactions()).toEqual([[11]]);
        expect(await storedUsers()).toEqual([]);
      });

      it('should re-use the existing transaction in SUPPORTS mode', async () => {
        await withTx.supportsPropagation();
        expect(transactions()).toEqual([[13, 14]]);
        expect(inTransaction()).toEqual([13, 14]);
        expect(await storedUsers()).toEqual(['work-13', 'work-14']);
      });

      it('should create a new transaction (a savepoint) in NESTED mode', async () => {
        await withTx.nestedPropagation();
        expect(transactions()).toEqual([[15, 16, 17]]);
        expect(inTransaction()).toEqual([15, 16, 17]);
        expect(await storedUsers()).toEqual(['work-15', 'work-16', 'work-17']);
      });

      it('should rollback to the savepoint if a NESTED transaction throws', async () => {
        await withTx.nestedPropagationThatThrows();
        expect(transactions()).toEqual([[18, 19, 20]]);
        expect(await storedUsers()).toEqual(['work-18', 'work-20']);
      });
    });

    describe('upstream propagation.spec.ts: when multiple nested transactions with different options are used', () => {
      it('should behave according to the settings', async () => {
        await expect(
          app.get(CallingServiceWithTransaction).multipleNestedTransactions(),
        ).rejects.toThrow('Bad thing');
        // Upstream lists clients by creation; here transactions come in the order they first wrote.
        expect(transactions()).toEqual([[10], [11], [12], [13, 14, 15, 16]]);
        expect(inTransaction()).toEqual([11, 12, 13, 14, 15, 16]);
        expect(Object.fromEntries(works.map((w) => [w.n, w.isolation]))).toEqual({
          10: 'read committed',
          11: 'serializable',
          12: 'read committed',
          13: 'serializable',
          14: 'serializable',
          15: 'serializable',
          16: 'serializable',
        });
        expect(await storedUsers()).toEqual(['work-10', 'work-11', 'work-12']);
        expect(hostWarnings()).toEqual([
          'Transaction options are ignored because the propagation mode is NOT_SUPPORTED (for method bound multipleNestedTransactions).',
          'Transaction options are ignored because a transaction is already active and the propagation mode is REQUIRED (for method bound defaultPropagationWithOptions).',
          'Transaction options are ignored because the propagation mode is MANDATORY (for method bound mandatoryPropagationWithOptions).',
          'Transaction options are ignored because the propagation mode is SUPPORTS (for method bound supportsPropagationWithOptions).',
        ]);
      });
    });

    describe('upstream transactional.spec.ts', () => {
      it('should start two transactions in parallel', async () => {
        expect(await app.get(ParallelService).parallelTransactions()).toEqual([7, 9, 8]);
        expect(transactions().sort((x, y) => x[0] - y[0])).toEqual([[7], [8], [9]]);
        expect(inTransaction().sort((x, y) => x - y)).toEqual([7, 8]);
        expect((await storedUsers()).sort()).toEqual(['work-7', 'work-8', 'work-9']);
      });
    });
  });

  describe('B. inside a tenant scope (RLS table, app role)', () => {
    let items: ItemsService;
    let decorated: Decorated;

    beforeAll(() => {
      items = app.get(ItemsService);
      decorated = app.get(Decorated);
    });

    const context = (tenantId: string): TenantContext => ({
      tenantId,
      userId: randomUUID(),
      role: 'member',
      requestId: `tx-${tenantId.slice(0, 8)}`,
    });

    /** The item names of a tenant, read as the owner in that tenant (bypassing the app). */
    const stored = async (tenantId: string) =>
      inTenant(owner, tenantId, async () =>
        (await owner.query(`SELECT name FROM ${SCHEMA}.items ORDER BY name`)).rows.map(
          (r: { name: string }) => r.name,
        ),
      );

    /** A statement of the scope itself (through the DataSource): the transaction it ran in. */
    const scopeInsert = async (tenantId: string, name: string) => {
      const [row] = await ds.query<{ xid: string; pid: number }[]>(
        `INSERT INTO ${SCHEMA}.items (tenant_id, name) VALUES ($1, $2)
         RETURNING pg_current_xact_id()::text AS xid, pg_backend_pid() AS pid`,
        [tenantId, name],
      );
      return row;
    };

    const scopeIsolation = async () =>
      (await ds.query<{ transaction_isolation: string }[]>('SHOW transaction_isolation'))[0]
        .transaction_isolation;

    const FORMS = ['@Transactional', 'withTransaction'] as const;
    type Form = (typeof FORMS)[number];

    /** Runs fn with `propagation`, through a decorated method or TransactionHost.withTransaction. */
    const within = async <T>(form: Form, propagation: Propagation, fn: () => Promise<T>) =>
      form === 'withTransaction'
        ? txHost.withTransaction(propagation, fn)
        : decorated.by(propagation)(fn);

    /** What tenant B holds after the test: A's scopes never touch it. */
    let expectedB: string[];
    beforeEach(() => {
      expectedB = ['b-seed'];
    });
    afterEach(async () => {
      expect(await stored(tenantB)).toEqual(expectedB);
    });

    it("makes the scope's transaction the active one: isTransactionActive() and txHost.tx", async () => {
      expect(txHost.isTransactionActive()).toBe(false);
      const seen = await inScope(app, context(tenantA), async () => {
        const outer = await scopeInsert(tenantA, 'a-outer');
        return { outer, probe: await items.probe() };
      });
      expect(seen.probe).toEqual({
        names: ['a-outer', 'a-seed'],
        xid: seen.outer.xid,
        pid: seen.outer.pid,
        user: appRole,
        isolation: 'read committed',
        tenantId: tenantA,
        active: true,
      });
      expect(txHost.isTransactionActive()).toBe(false);
      expect(await stored(tenantA)).toEqual(['a-outer', 'a-seed']);
    });

    for (const propagation of [Propagation.Required, Propagation.Supports, Propagation.Mandatory]) {
      for (const form of FORMS) {
        it(`${propagation} (${form}) joins the scope's transaction and commits with it`, async () => {
          const seen = await inScope(app, context(tenantA), async () => {
            const outer = await scopeInsert(tenantA, 'a-outer');
            const joined = await within(form, propagation, () => items.add(tenantA, 'a-joined'));
            return { outer, joined, after: await items.probe() };
          });
          expect(seen.joined).toEqual({
            names: ['a-joined', 'a-outer', 'a-seed'],
            xid: seen.outer.xid,
            pid: seen.outer.pid,
            user: appRole,
            isolation: 'read committed',
            tenantId: tenantA,
            active: true,
          });
          expect(seen.after.names).toEqual(['a-joined', 'a-outer', 'a-seed']);
          expect(await stored(tenantA)).toEqual(['a-joined', 'a-outer', 'a-seed']);
        });

        it(`${propagation} (${form}) rolls back with the scope when the scope fails`, async () => {
          await expect(
            inScope(app, context(tenantA), async () => {
              await scopeInsert(tenantA, 'a-outer');
              await within(form, propagation, () => items.add(tenantA, 'a-joined'));
              throw new Error('scope fails');
            }),
          ).rejects.toThrow('scope fails');
          expect(await stored(tenantA)).toEqual(['a-seed']);
        });
      }
    }

    it('Required that throws undoes nothing by itself (no savepoint): its rows commit with the scope if the scope catches', async () => {
      const after = await inScope(app, context(tenantA), async () => {
        await scopeInsert(tenantA, 'a-outer');
        await expect(
          decorated.required(() => items.addThenFail(tenantA, 'a-joined')),
        ).rejects.toThrow('a-joined fails');
        return items.probe();
      });
      expect(after.names).toEqual(['a-joined', 'a-outer', 'a-seed']);
      expect(await stored(tenantA)).toEqual(['a-joined', 'a-outer', 'a-seed']);
    });

    for (const form of FORMS) {
      it(`Nested (${form}) is a savepoint in the scope's transaction: its failure rolls back only its own rows`, async () => {
        const seen = await inScope(app, context(tenantA), async () => {
          const outer = await scopeInsert(tenantA, 'a-outer');
          const kept = await within(form, Propagation.Nested, () => items.add(tenantA, 'a-kept'));
          await expect(
            within(form, Propagation.Nested, () => items.addThenFail(tenantA, 'a-lost')),
          ).rejects.toThrow('a-lost fails');
          return { outer, kept, after: await items.probe() };
        });
        expect(seen.kept).toEqual({
          names: ['a-kept', 'a-outer', 'a-seed'],
          xid: seen.outer.xid,
          pid: seen.outer.pid,
          user: appRole,
          isolation: 'read committed',
          tenantId: tenantA,
          active: true,
        });
        expect(seen.after.names).toEqual(['a-kept', 'a-outer', 'a-seed']);
        expect(await stored(tenantA)).toEqual(['a-kept', 'a-outer', 'a-seed']);
      });
    }

    it("Nested commits only with the scope: when the scope fails, the savepoint's rows go too", async () => {
      await expect(
        inScope(app, context(tenantA), async () => {
          await scopeInsert(tenantA, 'a-outer');
          await decorated.nested(() => items.add(tenantA, 'a-kept'));
          throw new Error('scope fails');
        }),
      ).rejects.toThrow('scope fails');
      expect(await stored(tenantA)).toEqual(['a-seed']);
    });

    for (const form of FORMS) {
      it(`RequiresNew (${form}) runs in a second transaction of the same tenant, on another connection, blind to the scope's uncommitted rows`, async () => {
        const seen = await inScope(app, context(tenantA), async () => {
          const outer = await scopeInsert(tenantA, 'a-outer');
          const inner = await within(form, Propagation.RequiresNew, () =>
            items.add(tenantA, 'a-new'),
          );
          return { outer, inner, after: await items.probe() };
        });
        expect(seen.inner).toEqual({
          names: ['a-new', 'a-seed'],
          xid: expect.any(String),
          pid: expect.any(Number),
          user: appRole,
          isolation: 'read committed',
          tenantId: tenantA,
          active: true,
        });
        expect(seen.inner.pid).not.toBe(seen.outer.pid);
        expect(seen.inner.xid).not.toBe(seen.outer.xid);
        // The scope (READ COMMITTED) sees the inner transaction's committed row afterwards.
        expect(seen.after).toMatchObject({
          names: ['a-new', 'a-outer', 'a-seed'],
          xid: seen.outer.xid,
          pid: seen.outer.pid,
        });
        expect(await stored(tenantA)).toEqual(['a-new', 'a-outer', 'a-seed']);
      });

      it(`RequiresNew (${form}) stays committed when the scope fails afterwards`, async () => {
        await expect(
          inScope(app, context(tenantA), async () => {
            await scopeInsert(tenantA, 'a-outer');
            await within(form, Propagation.RequiresNew, () => items.add(tenantA, 'a-new'));
            throw new Error('scope fails');
          }),
        ).rejects.toThrow('scope fails');
        expect(await stored(tenantA)).toEqual(['a-new', 'a-seed']);
      });
    }

    it("RequiresNew that fails rolls back only its own transaction; the scope's goes on", async () => {
      const after = await inScope(app, context(tenantA), async () => {
        await scopeInsert(tenantA, 'a-outer');
        await expect(
          decorated.requiresNew(() => items.addThenFail(tenantA, 'a-new')),
        ).rejects.toThrow('a-new fails');
        return items.probe();
      });
      expect(after.names).toEqual(['a-outer', 'a-seed']);
      expect(await stored(tenantA)).toEqual(['a-outer', 'a-seed']);
    });

    it('RequiresNew applies its isolationLevel (decorator and withTransaction)', async () => {
      const seen = await inScope(app, context(tenantA), async () => {
        await scopeInsert(tenantA, 'a-outer');
        return {
          decorated: await decorated.requiresNewSerializable(() => items.probe()),
          wrapped: await txHost.withTransaction(
            Propagation.RequiresNew,
            { isolationLevel: 'REPEATABLE READ' },
            () => items.probe(),
          ),
          scope: await scopeIsolation(),
        };
      });
      expect(seen.decorated).toMatchObject({
        names: ['a-seed'],
        isolation: 'serializable',
        tenantId: tenantA,
        active: true,
      });
      expect(seen.wrapped).toMatchObject({
        names: ['a-seed'],
        isolation: 'repeatable read',
        tenantId: tenantA,
        active: true,
      });
      expect(seen.scope).toBe('read committed');
      expect(hostWarnings()).toEqual([]);
    });

    it('a Nested @Transactional with an isolationLevel fails with a TenancyError (a savepoint cannot change it)', async () => {
      const error = await inScope(app, context(tenantA), async () => {
        await scopeInsert(tenantA, 'a-outer');
        await decorated.nestedSerializable(() => items.add(tenantA, 'a-nested'));
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TenancyError);
      expect((error as Error).message).toMatch(/isolation/i);
      expect(await stored(tenantA)).toEqual(['a-seed']);
    });

    it('a Required @Transactional with an isolationLevel joins the scope (nestjs-cls warns the options are ignored)', async () => {
      const seen = await inScope(app, context(tenantA), async () => {
        const outer = await scopeInsert(tenantA, 'a-outer');
        const joined = await decorated.requiredSerializable(() => items.add(tenantA, 'a-joined'));
        return { outer, joined };
      });
      expect(seen.joined).toEqual({
        names: ['a-joined', 'a-outer', 'a-seed'],
        xid: seen.outer.xid,
        pid: seen.outer.pid,
        user: appRole,
        isolation: 'read committed',
        tenantId: tenantA,
        active: true,
      });
      expect(hostWarnings()).toEqual([
        'Transaction options are ignored because a transaction is already active and the propagation mode is REQUIRED (for method bound requiredSerializable).',
      ]);
      expect(await stored(tenantA)).toEqual(['a-joined', 'a-outer', 'a-seed']);
    });

    for (const form of FORMS) {
      it(`Never (${form}) throws TransactionAlreadyActiveError without running its function`, async () => {
        let ran = false;
        await expect(
          inScope(app, context(tenantA), async () => {
            await scopeInsert(tenantA, 'a-outer');
            await within(form, Propagation.Never, async () => {
              ran = true;
              return items.add(tenantA, 'a-never');
            });
          }),
        ).rejects.toThrow(TransactionAlreadyActiveError);
        expect(ran).toBe(false);
        expect(await stored(tenantA)).toEqual(['a-seed']);
      });

      it(`NotSupported (${form}) fails with a TenancyError and does none of its work`, async () => {
        const error = await inScope(app, context(tenantA), async () => {
          await scopeInsert(tenantA, 'a-outer');
          await within(form, Propagation.NotSupported, () => items.add(tenantA, 'a-unsupported'));
        }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TenancyError);
        expect(await stored(tenantA)).toEqual(['a-seed']);
      });

      it(`NotSupported (${form}) does none of its work even when the scope catches the error and commits`, async () => {
        const after = await inScope(app, context(tenantA), async () => {
          await scopeInsert(tenantA, 'a-outer');
          const error = await within(form, Propagation.NotSupported, () =>
            items.add(tenantA, 'a-unsupported'),
          ).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(TenancyError);
          return items.probe();
        });
        expect(after.names).toEqual(['a-outer', 'a-seed']);
        expect(await stored(tenantA)).toEqual(['a-outer', 'a-seed']);
      });
    }

    it("never shows another tenant's rows: tenant B's scope with every mode that runs", async () => {
      const seen = await inScope(app, context(tenantB), async () => {
        await scopeInsert(tenantB, 'b-outer');
        return {
          required: await decorated.required(() => items.probe()),
          supports: await decorated.supports(() => items.probe()),
          mandatory: await decorated.mandatory(() => items.probe()),
          nested: await decorated.nested(() => items.probe()),
          requiresNew: await decorated.requiresNew(() => items.probe()),
        };
      });
      for (const joined of [seen.required, seen.supports, seen.mandatory, seen.nested]) {
        expect(joined).toMatchObject({ names: ['b-outer', 'b-seed'], tenantId: tenantB });
      }
      expect(seen.requiresNew).toMatchObject({ names: ['b-seed'], tenantId: tenantB });
      expect(await stored(tenantA)).toEqual(['a-seed']);
      expectedB = ['b-outer', 'b-seed'];
    });
  });
});
