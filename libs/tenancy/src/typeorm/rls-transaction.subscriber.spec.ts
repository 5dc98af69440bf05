import { InvalidTenantContextError } from '../errors/tenancy-errors';
import { TenancySettingNames } from '../tenancy.options';
import {
  contextStatements,
  setLocalStatements,
  settingsStatement,
} from './rls-transaction.subscriber';

const SETTINGS = new TenancySettingNames();
const CONTEXT = {
  tenantId: '11111111-1111-4111-8111-111111111111',
  userId: '22222222-2222-4222-8222-222222222222',
  role: 'agent',
  requestId: 'req-1',
};
/** What a SET LOCAL statement must look like: a quoted name and one standard string literal. */
const SHAPE = /^SET LOCAL "([a-z_][a-z0-9_]*)"\."([a-z_][a-z0-9_]*)" = '((?:[^'\\]|'')*)'$/;

/** Reads a statement back: the setting name and the value PostgreSQL would store. */
function parse(sql: string): [name: string, value: string] | undefined {
  const match = SHAPE.exec(sql);
  return match ? [`${match[1]}.${match[2]}`, match[3].replace(/''/g, "'")] : undefined;
}

/** Strings a value could try to break out of its literal with. */
const HOSTILE = [
  "x'; RESET ALL; --",
  "a''b",
  'back\\slash',
  "E'\\x27'",
  'semi;colon',
  '$$dollar$$',
  'new\nline',
  '\u0000nul',
  'üñí',
  ' ',
];

describe("contextStatement 'set-local': the SET LOCAL statements", () => {
  it('writes the four settings, one statement each, names quoted and values as literals', () => {
    expect(setLocalStatements(SETTINGS, CONTEXT)).toEqual([
      [`SET LOCAL "app"."tenant_id" = '${CONTEXT.tenantId}'`, []],
      [`SET LOCAL "app"."user_id" = '${CONTEXT.userId}'`, []],
      [`SET LOCAL "app"."role" = 'agent'`, []],
      [`SET LOCAL "app"."request_id" = 'req-1'`, []],
    ]);
  });

  it('adds the read-only statement, then the role of the request-role function, in that order', () => {
    const statements = setLocalStatements(SETTINGS, CONTEXT, 'sales.request_role', true);
    expect(statements.slice(4)).toEqual([
      ['SET LOCAL transaction_read_only = on', []],
      [`SELECT set_config('role', COALESCE("sales"."request_role"(), 'none'), true)`, []],
    ]);
  });

  it('writes an empty request id when the context has none', () => {
    const statements = setLocalStatements(SETTINGS, { ...CONTEXT, requestId: undefined });
    expect(parse(statements[3][0])).toEqual(['app.request_id', '']);
  });

  it('refuses every hostile value in every field before anything is sent', () => {
    const refusals: string[] = [];
    for (const value of HOSTILE) {
      for (const field of ['tenantId', 'userId', 'role', 'requestId'] as const) {
        try {
          setLocalStatements(SETTINGS, { ...CONTEXT, [field]: value });
          refusals.push(`${field} accepted ${JSON.stringify(value)}`);
        } catch (error) {
          if (!(error instanceof InvalidTenantContextError)) throw error;
        }
      }
    }
    expect(refusals).toEqual([]);
  });

  it('keeps every accepted value inside its literal: each statement reads back as the value given', () => {
    const alphabet = 'abcXYZ019._:-';
    const seen: string[] = [];
    for (let i = 0; i < 500; i++) {
      let requestId = '';
      for (let n = 1 + (i % 20); n > 0; n--)
        requestId += alphabet[(i * 7 + n * 13) % alphabet.length];
      const role = `r${requestId.replace(/:/g, '')}`.slice(0, 64);
      const statements = setLocalStatements(SETTINGS, { ...CONTEXT, role, requestId });
      seen.push(...statements.map(([sql]) => JSON.stringify(parse(sql))));
      expect(statements.map(([sql]) => parse(sql))).toEqual([
        ['app.tenant_id', CONTEXT.tenantId],
        ['app.user_id', CONTEXT.userId],
        ['app.role', role],
        ['app.request_id', requestId],
      ]);
    }
    expect(seen).not.toContain('undefined');
  });

  it('refuses a setting name that is not prefix.name in lower case', () => {
    expect(() =>
      setLocalStatements({ ...SETTINGS, tenantId: 'app.tenant_id"; RESET ALL; --' }, CONTEXT),
    ).toThrow(/is not a valid setting name/);
  });
});

describe('contextStatements: the form the scope options choose', () => {
  const scope = { settings: SETTINGS, contextStatement: 'set-config' as const };

  it('sends the one set_config statement with bind parameters by default, read-only when asked', () => {
    expect(contextStatements(scope, CONTEXT)).toEqual([settingsStatement(SETTINGS, CONTEXT)]);
    const [[sql, parameters]] = contextStatements(scope, CONTEXT, true);
    expect(sql).toBe(
      "SELECT set_config($1, $2, true), set_config($3, $4, true), set_config($5, $6, true), set_config($7, $8, true), set_config('transaction_read_only', 'on', true)",
    );
    expect(parameters).toEqual([
      'app.tenant_id',
      CONTEXT.tenantId,
      'app.user_id',
      CONTEXT.userId,
      'app.role',
      'agent',
      'app.request_id',
      'req-1',
    ]);
  });

  it("sends SET LOCAL statements with 'set-local'", () => {
    expect(contextStatements({ ...scope, contextStatement: 'set-local' }, CONTEXT)).toEqual(
      setLocalStatements(SETTINGS, CONTEXT),
    );
  });

  it('makes the request-role statement read-only too, the role still applied after the settings', () => {
    const [[sql]] = contextStatements(
      { ...scope, requestRoleFunction: 'sales.request_role' },
      CONTEXT,
      true,
    );
    expect(sql).toBe(
      `SELECT settings.*, set_config('role', COALESCE("sales"."request_role"(), 'none'), true) AS role FROM (SELECT set_config($1, $2, true), set_config($3, $4, true), set_config($5, $6, true), set_config($7, $8, true), set_config('transaction_read_only', 'on', true) OFFSET 0) settings`,
    );
  });
});
