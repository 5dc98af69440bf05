import { sessionStateViolation } from './session-state.guard';

describe('sessionStateViolation', () => {
  const refused: [string, unknown[]?][] = [
    ['SET search_path = support'],
    ['set statement_timeout = 12345'],
    ["SET app.tenant_id = '0a000000-0000-4000-8000-000000000001'"],
    ['SET SESSION search_path TO public'],
    ['SET ROLE app_user'],
    ['SET SESSION ROLE app_user'],
    ['SET SESSION AUTHORIZATION app_user'],
    ['SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE'],
    ['RESET statement_timeout'],
    ['RESET ALL'],
    ['LISTEN channel'],
    ['PREPARE leak AS SELECT 1'],
    ['DECLARE c CURSOR WITH HOLD FOR SELECT 1'],
    ['CREATE TEMP TABLE leak AS SELECT * FROM support.tickets'],
    ['create temporary table leak (a int)'],
    ['CREATE GLOBAL TEMPORARY TABLE leak (a int)'],
    ['CREATE TEMP VIEW v AS SELECT 1'],
    ['CREATE TABLE pg_temp.leak (a int)'],
    ['CREATE TABLE pg_temp_3.leak (a int)'],
    ['CREATE TEMP TABLE a (x int) ON COMMIT DROP; CREATE TEMP TABLE b (x int)'],
    ['SELECT * INTO TEMP leak FROM support.tickets'],
    ['SELECT pg_advisory_lock(42)'],
    ['SELECT pg_try_advisory_lock_shared(1, 2)'],
    ["SELECT set_config('app.tenant_id', 'x', false)"],
    ["SELECT set_config('search_path', current_setting('search_path'), 1 = 1)"],
    ['SELECT set_config($1, $2, $3)', ['app.tenant_id', 'x', false]],
    ['SELECT set_config($1, $2, $3)', ['app.tenant_id', 'x', 'false']],
    ['SELECT set_config($1, $2)', ['app.tenant_id', 'x']],
    ['SELECT 1; SET search_path = support'],
    ['/* note */ SET search_path = support'],
    ["DO $$ BEGIN PERFORM set_config('search_path', 'support', false); END $$"],
    ['DO $$ BEGIN SET search_path = support; END $$'],
    ['DO $body$ BEGIN IF true THEN SET search_path = support; END IF; END $body$'],
    ["LOAD 'auto_explain'"],
    ["SELECT set_config('role', 'none', false)"],
    ["DO $$ BEGIN EXECUTE 'SET search_path = ' || quote_ident('lib_test'); END $$"],
    ["DO $$ BEGIN EXECUTE format('SELECT pg_advisory_lock(%s)', 42); END $$"],
  ];
  for (const [sql, parameters] of refused) {
    it(`refuses ${JSON.stringify(sql)}${parameters ? ` with ${JSON.stringify(parameters)}` : ''}`, () => {
      expect(sessionStateViolation(sql, parameters)).toEqual({
        what: expect.any(String),
        fix: expect.any(String),
      });
    });
  }

  const allowed: [string, unknown[]?][] = [
    ['SELECT 1'],
    ["DO $$ BEGIN EXECUTE 'SELECT 1'; END $$"],
    ["SELECT E'it\\'s SET x = 1' AS a"],
    ['SELECT 1 /* outer /* inner */ SET x = 1 */'],
    ['SET LOCAL search_path = support'],
    ['SET LOCAL ROLE app_user'],
    ['SET TRANSACTION ISOLATION LEVEL SERIALIZABLE'],
    ['SET CONSTRAINTS ALL DEFERRED'],
    ['START TRANSACTION'],
    ['SAVEPOINT typeorm_1'],
    ['SELECT pg_advisory_xact_lock(42)'],
    ['SELECT pg_advisory_unlock(42)'],
    ['DECLARE c CURSOR FOR SELECT 1'],
    ['DECLARE c CURSOR WITHOUT HOLD FOR SELECT 1'],
    ['CREATE TEMP TABLE scratch (a int) ON COMMIT DROP'],
    ['UNLISTEN *'],
    ['DISCARD ALL'],
    ['UPDATE "support"."tickets" SET "status" = $1 WHERE "id" = $2'],
    ['INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO UPDATE SET a = EXCLUDED.a'],
    ["SELECT 'SET search_path = x; LISTEN y' AS text"],
    ['SELECT "set" FROM t'],
    ['-- SET search_path = x\nSELECT 1'],
    ['SELECT title FROM notes OFFSET 10'],
    ['SELECT set_config($1, $2, true), set_config($3, $4, true)'],
    ["SELECT set_config('role', COALESCE(f(), 'none'), true)"],
    ["SELECT set_config('a', 'b', 'true')"],
    ['SELECT set_config($1, $2, $3)', ['app.x', 'y', true]],
    ['SELECT settings.* FROM (SELECT set_config($1, $2, true) OFFSET 0) settings'],
    ["CASE WHEN a THEN 'x' ELSE 'y' END"],
  ];
  for (const [sql, parameters] of allowed) {
    it(`allows ${JSON.stringify(sql)}${parameters ? ` with ${JSON.stringify(parameters)}` : ''}`, () => {
      expect(sessionStateViolation(sql, parameters)).toBeUndefined();
    });
  }
});
