import { TenantContext } from '../context/tenant-context.interface';
import { TenancySettingNames } from '../tenancy.constants';

/** The command a policy is written for, as `CREATE POLICY ... FOR` names it. */
export type PolicyCommand = 'ALL' | 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE';

/** One row-level security policy of a table, as the catalog (`pg_policy`) holds it. */
export interface RowPolicy {
  /** The policy's name. */
  name: string;
  /** PERMISSIVE policies are OR-ed together; every RESTRICTIVE one must pass as well. */
  kind: 'PERMISSIVE' | 'RESTRICTIVE';
  /** The command it is written for. */
  command: PolicyCommand;
  /** The roles it applies to (`public`: every role). */
  roles: string[];
  /** The USING expression as PostgreSQL prints it, or null when the policy has none. */
  expression: string | null;
  /** The WITH CHECK expression, or null when the policy has none (writes then check USING). */
  check: string | null;
}

/** One policy's part in a {@link RowAccessVerdict}, evaluated on the explained row. */
export interface PolicyEvaluation extends RowPolicy {
  /**
   * Whether the row passes the USING expression (true only when it yields true; NULL refuses, as
   * in PostgreSQL); null when the policy has no USING expression and so takes no part in reading.
   */
  passed: boolean | null;
  /**
   * In the update verdict, for UPDATE and ALL policies: whether the row, unchanged, passes WITH
   * CHECK (USING when there is none); null when the policy has neither.
   */
  checkPassed?: boolean | null;
  /** `SQLSTATE: message` when evaluating an expression raised an error (the statement would fail). */
  error?: string;
}

/** What happened when the statement itself ran as the role, inside a savepoint rolled back. */
export interface ObservedAccess {
  /** True when the statement reached the row (one row read, updated or deleted). */
  allowed: boolean;
  /**
   * `SQLSTATE: message` when it failed: 42501 is a refusal (a missing privilege, or a new row that
   * fails WITH CHECK); any other code (a trigger, a constraint, a lock timeout) says nothing about
   * the policies.
   */
  error?: string;
}

/** Whether the context may read, update or delete the row, and which policies decided it. */
export interface RowAccessVerdict {
  /** The verdict computed from the policies (and the role's privileges). */
  allowed: boolean;
  /** One sentence saying why: the policies that allowed it, or the first thing that refused it. */
  reason: string;
  /** The policies that take part in this command for this role, in the catalog's order. */
  policies: PolicyEvaluation[];
  /** The statement run for real as the role (only with `asRole`), rolled back. */
  actual?: ObservedAccess;
  /**
   * With `actual`: true when the statement disagreed with the computed verdict, which means a
   * policy depends on something the evaluation cannot reproduce. A failure other than 42501 is
   * never a mismatch.
   */
  mismatch?: boolean;
}

/** How the evaluated role meets row-level security on the table. */
export type RowSecurityMode =
  /** RLS applies: the policies decide. */
  | 'enforced'
  /** The table does not ENABLE ROW LEVEL SECURITY: only privileges decide. */
  | 'disabled'
  /** The role is a superuser, has BYPASSRLS, or owns a table that does not FORCE RLS. */
  | 'bypassed';

/** The answer of {@link explainRowAccess}. */
export interface RowAccessExplanation {
  /** The table, as `schema.table`. */
  table: string;
  /** The key the row was looked up by, as given. */
  key: Record<string, unknown>;
  /** The context explained (tenant, user and role, as validated). */
  context: Pick<TenantContext, 'tenantId' | 'userId' | 'role'>;
  /** The role the policies were evaluated as (after `asRole` and the request-role function). */
  role: string;
  /** How that role meets row-level security on the table. */
  rowSecurity: RowSecurityMode;
  /** Whether a row with that key exists at all (read past row-level security). */
  exists: boolean;
  /** May the context read the row (`SELECT ... WHERE <key>`)? */
  read: RowAccessVerdict;
  /** May the context update the row (`UPDATE ... SET <first key column> = itself WHERE <key>`)? */
  update: RowAccessVerdict;
  /** May the context delete the row (`DELETE ... WHERE <key>`)? */
  delete: RowAccessVerdict;
  /** The table's policies that do not apply to the role (their `TO` list leaves it out). */
  otherPolicies: RowPolicy[];
}

/** What {@link explainRowAccess} explains, and as whom. */
export interface ExplainRowAccessOptions {
  /** The table, `schema.table` (`public` when the schema is omitted), lower-case identifiers. */
  table: string;
  /** Column → value of the row's key (the primary key, or any columns matching one row). */
  key: Record<string, unknown>;
  /** The context to explain, as the application would write it (validated the same way). */
  context: TenantContext;
  /** The setting names the policies read. Default: `DEFAULT_SETTING_NAMES`. */
  settings?: Partial<TenancySettingNames>;
  /**
   * The application role to evaluate as (`SET LOCAL ROLE`); with it, each statement is also run
   * for real as that role and reported as `actual`. Default: the connection's own role.
   */
  asRole?: string;
  /**
   * The request-role function the application names in TenancyModule's `requestRoleFunction`
   * (`schema.function`): the settings are written with it, so the role it chooses is the one
   * evaluated, as in a request. Default: none.
   */
  requestRoleFunction?: string;
}
