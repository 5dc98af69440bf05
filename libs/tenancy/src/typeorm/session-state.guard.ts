/**
 * Which statements would leave state on the pooled connection after the tenant transaction ends,
 * and the transaction-local alternative to each. Everything here works on the statement's text with
 * comments and quoted literals blanked out, so a value or a comment that merely mentions `SET`
 * never trips it; dollar-quoted bodies (DO blocks, function bodies) stay visible and are checked.
 */

/** What a statement would leave on the session, and the transaction-local alternative. */
interface SessionStateViolation {
  what: string;
  fix: string;
}

/** A statement that changes the session, and what to use instead. */
interface SessionRule {
  /** Matches the statement at one of its starts (see STATEMENT_START); global, every start. */
  pattern: RegExp;
  what: string;
  fix: string;
  /** When this also matches, the statement is transaction-local after all. */
  unless?: RegExp;
}

/**
 * Cheap first test: a statement without any of these words cannot change the session (`OFFSET`,
 * `settings` or `assets` are not the word `set`).
 */
const MAYBE =
  /\b(?:set|reset|listen|prepare|declare|temp|temporary|pg_temp(?:_\d+)?|load|set_config|pg_(?:try_)?advisory_lock(?:_shared)?)\b/i;

/** Where a statement (or a PL/pgSQL statement in a dollar-quoted body) can begin. */
const STATEMENT_START = String.raw`(?:^|;|\$[A-Za-z_]*\$|\b(?:BEGIN|THEN|ELSE|LOOP)\b)\s*`;

const TEMP_FIX =
  'use a CTE, or CREATE TEMP TABLE ... ON COMMIT DROP (which needs the TEMPORARY privilege that ensureAppRole() withholds from the app role)';

const rule = (start: string, what: string, fix: string, unless?: RegExp): SessionRule => ({
  pattern: new RegExp(STATEMENT_START + start, 'gi'),
  what,
  fix,
  unless,
});

const STATEMENT_RULES: SessionRule[] = [
  rule(
    String.raw`SET\s+(?:SESSION\s+)?(?:ROLE|AUTHORIZATION|SESSION\s+AUTHORIZATION)\b`,
    'SET ROLE / SET SESSION AUTHORIZATION without LOCAL',
    "use SET LOCAL ROLE (or set_config('role', name, true)); it ends with the transaction",
  ),
  rule(
    String.raw`SET\s+(?!LOCAL\b|TRANSACTION\b|CONSTRAINTS\b)`,
    'SET without LOCAL',
    'use SET LOCAL (or set_config(name, value, true)); it ends with the transaction',
  ),
  rule(String.raw`RESET\b`, 'RESET', 'use SET LOCAL name TO DEFAULT; it ends with the transaction'),
  rule(String.raw`LISTEN\b`, 'LISTEN', 'listen on a dedicated connection outside tenant scopes'),
  rule(
    String.raw`PREPARE\b`,
    'PREPARE',
    'send a parameterised query (the driver prepares it) instead of a session-level PREPARE',
  ),
  rule(
    String.raw`DECLARE\b[^;]*\bWITH\s+HOLD\b`,
    'DECLARE ... WITH HOLD',
    'declare the cursor WITHOUT HOLD; it closes with the transaction',
  ),
  rule(
    String.raw`CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:GLOBAL|LOCAL)\s+)?(?:TEMP|TEMPORARY)\b`,
    'a temporary object',
    TEMP_FIX,
    /\bON\s+COMMIT\s+DROP\b/i,
  ),
  rule(
    String.raw`CREATE\b[^;]*?\bpg_temp(?:_\d+)?\s*\.`,
    'an object in pg_temp',
    TEMP_FIX,
    /\bON\s+COMMIT\s+DROP\b/i,
  ),
  rule(
    String.raw`(?:SELECT|WITH)\b[^;]*\bINTO\s+(?:TEMP|TEMPORARY|UNLOGGED\s+TEMP)\b`,
    'SELECT ... INTO TEMP',
    TEMP_FIX,
  ),
  rule(String.raw`LOAD\b`, 'LOAD', 'load libraries through the server configuration'),
];

const ADVISORY = /\bpg_(?:try_)?advisory_lock(?:_shared)?\s*\(/i;
const SET_CONFIG = /\bset_config\s*\(/gi;
/** `true`, a quoted literal (its text in group 1) or a parameter `$n` (n in group 2). */
const LOCAL_FLAG = /^(?:true|'([^']*)'|\$(\d+))(?:\s*::\s*bool(?:ean)?)?$/i;
/** The spellings of boolean true a `set_config` flag may take, as a literal or a parameter. */
const TRUE_VALUES = new Set(['t', 'true', 'on', 'yes', '1']);
const isTrueText = (value: string) => TRUE_VALUES.has(value.toLowerCase());

/**
 * The statement with comments removed and quoted identifiers blanked; string literals blanked too,
 * or, with `literals` (for dynamic SQL run by EXECUTE in a DO body), kept as statements of their own.
 */
function code(sql: string, literals = false): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      out += ' ';
      i = end < 0 ? sql.length : end;
    } else if (c === '/' && next === '*') {
      // Block comments nest in PostgreSQL.
      let depth = 0;
      do {
        const pair = sql.slice(i, i + 2);
        if (pair === '/*' || pair === '*/') {
          depth += pair === '/*' ? 1 : -1;
          i += 2;
        } else i++;
      } while (depth > 0 && i < sql.length);
      out += ' ';
    } else if (c === "'" || c === '"') {
      // E'...' takes backslash escapes; a letter e that ends an identifier does not start one.
      const escapes = c === "'" && /[Ee]/.test(sql[i - 1] ?? '') && !/[\w$]/.test(sql[i - 2] ?? '');
      let j = i + 1;
      while (j < sql.length) {
        if (escapes && sql[j] === '\\') j += 2;
        else if (sql[j] === c && sql[j + 1] === c) j += 2;
        else if (sql[j] === c) break;
        else j++;
      }
      const literal = sql.slice(i, j + 1);
      if (c === '"') out += '"x"';
      else if (literals) out += ` ; ${literal.slice(1, -1).replace(/''/g, "'")} ; `;
      else out += isTrueText(literal.slice(1, -1)) ? literal : "''";
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** The arguments of the call whose `(` ends at `open - 1`, split at top-level commas. */
function callArguments(text: string, open: number): string[] {
  const args: string[] = [];
  let depth = 0;
  let start = open;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') {
      if (depth === 0) {
        args.push(text.slice(start, i).trim());
        return args;
      }
      depth--;
    } else if (c === ',' && depth === 0) {
      args.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  return args;
}

/** Whether a `set_config` third argument is transaction-local (`true`, or a parameter that is). */
function isLocalFlag(arg: string | undefined, parameters: readonly unknown[] | undefined): boolean {
  const m = arg === undefined ? null : LOCAL_FLAG.exec(arg);
  if (!m) return false;
  if (m[1] !== undefined) return isTrueText(m[1]);
  if (m[2] === undefined) return true;
  const value = parameters?.[Number(m[2]) - 1];
  return value === true || (typeof value === 'string' && isTrueText(value));
}

/**
 * Why `sql` would change the connection's session beyond the current transaction, with the
 * transaction-local alternative; `undefined` when it would not.
 */
export function sessionStateViolation(
  sql: string,
  parameters?: readonly unknown[],
): SessionStateViolation | undefined {
  if (!MAYBE.test(sql)) return undefined;
  const text = code(sql);
  const found = violationIn(text, parameters);
  if (found || !/\bEXECUTE\b/i.test(text)) return found;
  // A DO body may build a statement from string literals and EXECUTE it: check them as statements.
  return violationIn(code(sql, true), parameters);
}

function violationIn(
  text: string,
  parameters: readonly unknown[] | undefined,
): SessionStateViolation | undefined {
  for (const r of STATEMENT_RULES) {
    for (const m of text.matchAll(r.pattern)) {
      if (r.unless) {
        const end = text.indexOf(';', m.index + m[0].length);
        if (r.unless.test(text.slice(m.index, end < 0 ? undefined : end))) continue;
      }
      return { what: r.what, fix: r.fix };
    }
  }
  if (ADVISORY.test(text)) {
    return {
      what: 'a session-level advisory lock',
      fix: 'use pg_advisory_xact_lock / pg_try_advisory_xact_lock; they are released with the transaction',
    };
  }
  for (const m of text.matchAll(SET_CONFIG)) {
    const args = callArguments(text, m.index + m[0].length);
    if (!isLocalFlag(args[2], parameters)) {
      return {
        what: 'set_config(..., false)',
        fix: 'pass true as its third argument (set_config(name, value, true)); it ends with the transaction',
      };
    }
  }
  return undefined;
}
