import { TenancyConfigurationError } from '../errors/tenancy.error';
import {
  distributeTenantTables,
  distributionStatements,
  foreignKeyOrder,
  undistributeTenantTables,
} from './citus.migration-helpers';
import { SqlExecutor } from './sql';

/**
 * Stands in for a database with Citus (none can run here): records every statement with its
 * parameters and answers the helpers' catalog reads from `answers`, by the first match.
 */
class RecordingRunner implements SqlExecutor {
  readonly statements: [string, unknown[]][] = [];

  constructor(private readonly answers: [RegExp, (parameters: unknown[]) => unknown[]][]) {}

  async query(sql: string, parameters: unknown[] = []): Promise<unknown[]> {
    const flat = sql.replace(/\s+/g, ' ').trim();
    this.statements.push([flat, parameters]);
    return this.answers.find(([pattern]) => pattern.test(flat))?.[1](parameters) ?? [];
  }
}

const EXTENSION = `SELECT 1 FROM pg_extension WHERE extname = 'citus'`;
const FOREIGN_KEYS = expect.stringMatching(/^SELECT DISTINCT .* FROM pg_constraint k /);
const AUDIT_TRIGGERS = expect.stringMatching(
  /^SELECT DISTINCT .* FROM pg_trigger t .*'tenancy_audit'/,
);
const AUDIT_LOG_DISTRIBUTED = expect.stringMatching(
  /^SELECT EXISTS \(SELECT 1 FROM pg_dist_partition WHERE logicalrelid = to_regclass\(\$1\) AND partmethod = 'h'\) AS citus$/,
);
const UNSAFE_TRIGGERS = 'SET LOCAL citus.enable_unsafe_triggers TO on';
const DISTRIBUTE = 'SELECT create_distributed_table($1::regclass, $2, colocate_with => $3)';

/** The FKs among the tables of the example: every tenant table references the registry. */
const EDGES = [
  { from: 'app.comments', to: 'app.tickets' },
  { from: 'app.comments', to: 'tenancy.tenants' },
  { from: 'app.tickets', to: 'tenancy.tenants' },
  { from: 'app.articles', to: 'tenancy.tenants' },
];

/**
 * A runner answering as a database with Citus: the foreign keys of {@link EDGES}, `distributed`
 * as the tables Citus holds already, and `audited` as the tables with the audit trail's trigger.
 */
const withCitus = (distributed: string[] = [], audited: string[] = []) =>
  new RecordingRunner([
    [/FROM pg_extension/, () => [{ '?column?': 1 }]],
    [/FROM pg_constraint/, () => EDGES],
    [/FROM pg_dist_partition/, ([table]) => [{ citus: distributed.includes(table as string) }]],
    [
      /FROM pg_trigger/,
      ([tables]) =>
        audited
          .filter((table) => (tables as string[]).includes(table))
          .map((relation) => ({ relation })),
    ],
  ]);

describe('foreignKeyOrder', () => {
  it('puts each table after the tables it references and keeps the given order otherwise', () => {
    expect(
      foreignKeyOrder(
        ['c', 'a', 'b', 'd'],
        [
          { from: 'c', to: 'b' },
          { from: 'b', to: 'a' },
        ],
      ),
    ).toEqual({ ordered: ['a', 'b', 'c', 'd'], cyclic: [] });
  });

  it('ignores self-references and references to tables outside the list', () => {
    expect(
      foreignKeyOrder(
        ['b', 'a'],
        [
          { from: 'b', to: 'b' },
          { from: 'b', to: 'z' },
          { from: 'z', to: 'a' },
        ],
      ),
    ).toEqual({ ordered: ['b', 'a'], cyclic: [] });
  });

  it('returns the tables of a cycle, and those that reference them, as cyclic', () => {
    expect(
      foreignKeyOrder(
        ['a', 'b', 'c', 'd'],
        [
          { from: 'a', to: 'b' },
          { from: 'b', to: 'a' },
          { from: 'c', to: 'a' },
        ],
      ),
    ).toEqual({ ordered: ['d'], cyclic: ['a', 'b', 'c'] });
  });
});

describe('distributionStatements', () => {
  it('sets sequential mode, then creates the reference tables, then distributes colocated with the first table', () => {
    expect(
      distributionStatements(['tenancy.tenants'], ['app.tickets', 'app.comments'], 'tenant_id'),
    ).toEqual([
      { sql: `SET LOCAL citus.multi_shard_modify_mode TO 'sequential'`, parameters: [] },
      { sql: 'SELECT create_reference_table($1::regclass)', parameters: ['tenancy.tenants'] },
      {
        sql: 'SELECT create_distributed_table($1::regclass, $2, colocate_with => $3)',
        parameters: ['app.tickets', 'tenant_id', 'default'],
      },
      {
        sql: 'SELECT create_distributed_table($1::regclass, $2, colocate_with => $3)',
        parameters: ['app.comments', 'tenant_id', 'app.tickets'],
      },
    ]);
  });

  it('colocates every table with colocateWith when given', () => {
    expect(
      distributionStatements([], ['app.a', 'app.b'], 'org_id', 'app.existing').map(
        (s) => s.parameters,
      ),
    ).toEqual([[], ['app.a', 'org_id', 'app.existing'], ['app.b', 'org_id', 'app.existing']]);
  });

  it('is empty when there is nothing to distribute', () => {
    expect(distributionStatements([], [], 'tenant_id')).toEqual([]);
    expect(distributionStatements([], [], 'tenant_id', undefined, true)).toEqual([]);
  });

  it('with unsafeTriggers, turns citus.enable_unsafe_triggers on after the reference tables, before distributing', () => {
    expect(
      distributionStatements(
        ['tenancy.tenants'],
        ['tenancy.audit_log', 'app.tickets'],
        'tenant_id',
        undefined,
        true,
      ).map((s) => s.sql),
    ).toEqual([
      `SET LOCAL citus.multi_shard_modify_mode TO 'sequential'`,
      'SELECT create_reference_table($1::regclass)',
      UNSAFE_TRIGGERS,
      DISTRIBUTE,
      DISTRIBUTE,
    ]);
    expect(
      distributionStatements(['tenancy.tenants'], [], 'tenant_id', undefined, true).map(
        (s) => s.sql,
      ),
    ).toEqual([
      `SET LOCAL citus.multi_shard_modify_mode TO 'sequential'`,
      'SELECT create_reference_table($1::regclass)',
    ]);
  });
});

describe('distributeTenantTables', () => {
  const options = {
    tables: ['app.comments', 'app.tickets'],
    referenceTables: ['app.articles', 'tenancy.tenants'],
  };

  it('on plain PostgreSQL, only asks for the extension and logs one line', async () => {
    const runner = new RecordingRunner([]);
    const lines: string[] = [];
    expect(
      await distributeTenantTables(runner, { ...options, logger: { log: (m) => lines.push(m) } }),
    ).toBe(false);
    expect(runner.statements).toEqual([[EXTENSION, []]]);
    expect(lines).toEqual([
      'citus is not installed in this database: distributeTenantTables left 4 table(s) as they are',
    ]);
  });

  it('with Citus, creates the reference tables and then the distributed ones, referenced tables first, names as parameters', async () => {
    const runner = withCitus();
    const lines: string[] = [];
    expect(
      await distributeTenantTables(runner, { ...options, logger: { log: (m) => lines.push(m) } }),
    ).toBe(true);
    expect(runner.statements).toEqual([
      [EXTENSION, []],
      [FOREIGN_KEYS, [['app.articles', 'tenancy.tenants', 'app.comments', 'app.tickets']]],
      [AUDIT_TRIGGERS, [['app.comments', 'app.tickets']]],
      [`SET LOCAL citus.multi_shard_modify_mode TO 'sequential'`, []],
      ['SELECT create_reference_table($1::regclass)', ['tenancy.tenants']],
      ['SELECT create_reference_table($1::regclass)', ['app.articles']],
      [DISTRIBUTE, ['app.tickets', 'tenant_id', 'default']],
      [DISTRIBUTE, ['app.comments', 'tenant_id', 'app.tickets']],
    ]);
    expect(lines).toEqual([
      'citus: 2 reference table(s) (tenancy.tenants, app.articles) and 2 table(s) distributed by tenant_id, colocated (app.tickets, app.comments)',
    ]);
  });

  it('with the audit trail on a table, distributes tenancy.audit_log first and turns citus.enable_unsafe_triggers on before distributing', async () => {
    const runner = withCitus([], ['app.tickets']);
    const lines: string[] = [];
    expect(
      await distributeTenantTables(runner, {
        tables: ['app.comments', 'app.tickets', 'tenancy.audit_log'],
        referenceTables: ['tenancy.tenants'],
        logger: { log: (m) => lines.push(m) },
      }),
    ).toBe(true);
    expect(runner.statements).toEqual([
      [EXTENSION, []],
      [FOREIGN_KEYS, [['tenancy.tenants', 'app.comments', 'app.tickets', 'tenancy.audit_log']]],
      [AUDIT_TRIGGERS, [['app.comments', 'app.tickets', 'tenancy.audit_log']]],
      [`SET LOCAL citus.multi_shard_modify_mode TO 'sequential'`, []],
      ['SELECT create_reference_table($1::regclass)', ['tenancy.tenants']],
      [UNSAFE_TRIGGERS, []],
      [DISTRIBUTE, ['tenancy.audit_log', 'tenant_id', 'default']],
      [DISTRIBUTE, ['app.tickets', 'tenant_id', 'tenancy.audit_log']],
      [DISTRIBUTE, ['app.comments', 'tenant_id', 'tenancy.audit_log']],
    ]);
    expect(lines).toEqual([
      'citus: 1 reference table(s) (tenancy.tenants) and 3 table(s) distributed by tenant_id, colocated (tenancy.audit_log, app.tickets, app.comments); citus.enable_unsafe_triggers on for the audit trail of app.tickets',
    ]);
  });

  it('with the audit trail on a table, accepts tenancy.audit_log distributed already, and refuses it otherwise before distributing anything', async () => {
    const quiet = { log: () => undefined };
    const distributed = withCitus(['tenancy.audit_log'], ['app.tickets']);
    await distributeTenantTables(distributed, { tables: ['app.tickets'], logger: quiet });
    expect(distributed.statements).toEqual([
      [EXTENSION, []],
      [FOREIGN_KEYS, [['app.tickets']]],
      [AUDIT_TRIGGERS, [['app.tickets']]],
      [AUDIT_LOG_DISTRIBUTED, ['tenancy.audit_log']],
      [`SET LOCAL citus.multi_shard_modify_mode TO 'sequential'`, []],
      [UNSAFE_TRIGGERS, []],
      [DISTRIBUTE, ['app.tickets', 'tenant_id', 'default']],
    ]);

    const local = withCitus([], ['app.tickets']);
    await expect(
      distributeTenantTables(local, { tables: ['app.tickets', 'app.comments'], logger: quiet }),
    ).rejects.toThrow(
      "the audit trail's trigger on app.tickets writes each change into tenancy.audit_log on the node of the row's shard, and tenancy.audit_log is neither in tables nor distributed",
    );
    expect(local.statements.map(([sql]) => sql)).toEqual([
      EXTENSION,
      FOREIGN_KEYS,
      AUDIT_TRIGGERS,
      AUDIT_LOG_DISTRIBUTED,
    ]);
  });

  it('refuses an unsafe table name, a table listed twice and a cycle, before distributing anything', async () => {
    const quiet = { log: () => undefined };
    const runner = withCitus();
    await expect(
      distributeTenantTables(runner, { tables: ['app.tickets; DROP TABLE x'], logger: quiet }),
    ).rejects.toThrow(TenancyConfigurationError);
    await expect(
      distributeTenantTables(runner, {
        tables: ['app.tickets'],
        referenceTables: ['app.tickets'],
        logger: quiet,
      }),
    ).rejects.toThrow('app.tickets cannot be both distributed and a reference table');
    expect(runner.statements).toEqual([]);

    const cyclic = new RecordingRunner([
      [/FROM pg_extension/, () => [{}]],
      [
        /FROM pg_constraint/,
        () => [
          { from: 'app.a', to: 'app.b' },
          { from: 'app.b', to: 'app.a' },
        ],
      ],
    ]);
    await expect(
      distributeTenantTables(cyclic, { tables: ['app.a', 'app.b'], logger: quiet }),
    ).rejects.toThrow('app.a, app.b reference each other in a cycle of foreign keys');
    expect(cyclic.statements.map(([sql]) => sql)).toEqual([EXTENSION, FOREIGN_KEYS]);
  });
});

describe('undistributeTenantTables', () => {
  const options = {
    tables: ['app.comments', 'app.tickets'],
    referenceTables: ['app.articles', 'tenancy.tenants'],
  };

  it('on plain PostgreSQL, only asks for the extension and logs one line', async () => {
    const runner = new RecordingRunner([]);
    const lines: string[] = [];
    expect(
      await undistributeTenantTables(runner, { ...options, logger: { log: (m) => lines.push(m) } }),
    ).toBe(false);
    expect(runner.statements).toEqual([[EXTENSION, []]]);
    expect(lines).toEqual([
      'citus is not installed in this database: undistributeTenantTables left 4 table(s) as they are',
    ]);
  });

  it('with Citus, undistributes referencing tables first, skipping those a cascade already brought back', async () => {
    const runner = withCitus(['app.comments', 'app.articles']);
    const lines: string[] = [];
    expect(
      await undistributeTenantTables(runner, { ...options, logger: { log: (m) => lines.push(m) } }),
    ).toBe(true);
    const check =
      'SELECT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = $1::regclass) AS citus';
    const undistribute =
      'SELECT undistribute_table($1::regclass, cascade_via_foreign_keys => true)';
    expect(runner.statements).toEqual([
      [EXTENSION, []],
      [FOREIGN_KEYS, [['app.articles', 'tenancy.tenants', 'app.comments', 'app.tickets']]],
      [check, ['app.comments']],
      [undistribute, ['app.comments']],
      [check, ['app.tickets']],
      [check, ['app.articles']],
      [undistribute, ['app.articles']],
      [check, ['tenancy.tenants']],
    ]);
    expect(lines).toEqual([
      'citus: undistributed app.comments, app.articles (with the tables joined to them by foreign keys)',
    ]);
  });
});
