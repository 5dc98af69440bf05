import {
  PolicyEvaluation,
  RowAccessVerdict,
  RowPolicy,
  RowSecurityMode,
} from './row-access-explanation.interface';

/** A policy that applies to the evaluated role, with its expressions evaluated on the row. */
export interface EvaluatedPolicy extends RowPolicy {
  /** USING on the row; null when the policy has no USING or the row was not evaluated. */
  using: boolean | null;
  /** WITH CHECK (USING when there is none) on the unchanged row; null likewise. */
  withCheck: boolean | null;
  /** `SQLSTATE: message` of an expression that raised an error. */
  error?: string;
}

/** The facts a verdict is computed from. */
export interface VerdictFacts {
  /** `schema.table`. */
  table: string;
  /** The evaluated role. */
  role: string;
  /** The key, as `col=value, ...`, for messages. */
  keyText: string;
  /** Whether the row exists. */
  exists: boolean;
  /** How the role meets row-level security on the table. */
  rowSecurity: RowSecurityMode;
  /** Why the role bypasses row-level security, when it does. */
  bypassReason?: string;
  /** The privilege each command lacks (e.g. `DELETE`), or null when the role holds it. */
  missingPrivilege: Record<RowCommand, string | null>;
  /** The policies that apply to the role, in the catalog's order. */
  policies: EvaluatedPolicy[];
}

/** The three commands explained. */
export type RowCommand = 'read' | 'update' | 'delete';

/** One set of policy expressions PostgreSQL applies to a row for a command. */
interface Gate {
  command: 'SELECT' | 'UPDATE' | 'DELETE';
  clause: 'USING' | 'WITH CHECK';
}

/**
 * What PostgreSQL checks for a statement that names the row by its key (a WHERE clause needs read
 * access, so the SELECT policies apply to updates and deletes as well): SELECT USING on the row;
 * for UPDATE also UPDATE USING on it and UPDATE WITH CHECK on the new row (here the same values);
 * for DELETE also DELETE USING.
 */
const GATES: Record<RowCommand, Gate[]> = {
  read: [{ command: 'SELECT', clause: 'USING' }],
  update: [
    { command: 'SELECT', clause: 'USING' },
    { command: 'UPDATE', clause: 'USING' },
    { command: 'UPDATE', clause: 'WITH CHECK' },
  ],
  delete: [
    { command: 'SELECT', clause: 'USING' },
    { command: 'DELETE', clause: 'USING' },
  ],
};

function appliesTo(policy: RowPolicy, command: Gate['command']): boolean {
  return policy.command === 'ALL' || policy.command === command;
}

function expressionFor(policy: RowPolicy, clause: Gate['clause']): string | null {
  return clause === 'USING' ? policy.expression : (policy.check ?? policy.expression);
}

function passedFor(policy: EvaluatedPolicy, clause: Gate['clause']): boolean {
  return (clause === 'USING' ? policy.using : policy.withCheck) === true;
}

function names(policies: RowPolicy[]): string {
  return policies.map((p) => p.name).join(', ');
}

/** The outcome of one gate: whether the row passes it, and a phrase saying why. */
function passGate(
  gate: Gate,
  facts: VerdictFacts,
): { passed: boolean; label: string; because: string } {
  const label = `${gate.command} ${gate.clause}`;
  const taking = facts.policies.filter(
    (p) => appliesTo(p, gate.command) && expressionFor(p, gate.clause) !== null,
  );
  const permissive = taking.filter((p) => p.kind === 'PERMISSIVE');
  const restrictive = taking.filter((p) => p.kind === 'RESTRICTIVE');
  const allowing = permissive.filter((p) => passedFor(p, gate.clause));
  const refusing = restrictive.filter((p) => !passedFor(p, gate.clause));
  const refusals: string[] = [];
  if (refusing.length) refusals.push(`restrictive ${names(refusing)} did not pass`);
  if (!permissive.length) {
    refusals.push(
      `no permissive ${gate.command} policy applies to ${facts.role}, so PostgreSQL refuses by default`,
    );
  } else if (!allowing.length) {
    refusals.push(`no permissive policy passed (${names(permissive)})`);
  }
  if (refusals.length) {
    const raises =
      gate.clause === 'WITH CHECK'
        ? ' (the UPDATE fails with "new row violates row-level security policy")'
        : '';
    return { passed: false, label, because: `${refusals.join('; ')}${raises}` };
  }
  const also = restrictive.length ? `, and restrictive ${names(restrictive)} passed` : '';
  return { passed: true, label, because: `${names(allowing)} passed${also}` };
}

/** The policies taking part in a command, each with what it yielded for that command. */
function evaluations(command: RowCommand, facts: VerdictFacts): PolicyEvaluation[] {
  const gates = GATES[command];
  return facts.policies
    .filter((p) => gates.some((g) => appliesTo(p, g.command)))
    .map(({ using, withCheck, error, ...policy }) => {
      const evaluation: PolicyEvaluation = {
        ...policy,
        passed: policy.expression === null ? null : using,
      };
      if (command === 'update' && appliesTo(policy, 'UPDATE')) {
        evaluation.checkPassed = expressionFor(policy, 'WITH CHECK') === null ? null : withCheck;
      }
      if (error !== undefined) evaluation.error = error;
      return evaluation;
    });
}

/**
 * Computes whether a command may reach the row from the facts, by PostgreSQL's rules: the row must
 * exist and the role hold the privilege; a role that bypasses row-level security (or a table
 * without it) is then allowed; otherwise, for each set of expressions the command applies, at
 * least one PERMISSIVE policy (with such an expression) must yield true and every RESTRICTIVE one
 * must as well; no permissive policy at all refuses.
 */
export function rowAccessVerdict(command: RowCommand, facts: VerdictFacts): RowAccessVerdict {
  const policies = evaluations(command, facts);
  const refused = (reason: string): RowAccessVerdict => ({ allowed: false, reason, policies });
  const allowed = (reason: string): RowAccessVerdict => ({ allowed: true, reason, policies });
  if (!facts.exists) return refused(`no row of ${facts.table} has ${facts.keyText}`);
  const missing = facts.missingPrivilege[command];
  if (missing) return refused(`${facts.role} lacks the ${missing} privilege on ${facts.table}`);
  if (facts.rowSecurity === 'disabled') {
    return allowed(`row-level security is not enabled on ${facts.table}: privileges alone decide`);
  }
  if (facts.rowSecurity === 'bypassed') {
    return allowed(`${facts.role} bypasses row-level security (${facts.bypassReason})`);
  }
  const outcomes = GATES[command].map((gate) => passGate(gate, facts));
  const refusal = outcomes.find((o) => !o.passed);
  if (refusal) return refused(`${refusal.label}: ${refusal.because}`);
  const labels = new Map<string, string[]>();
  for (const o of outcomes) labels.set(o.because, [...(labels.get(o.because) ?? []), o.label]);
  return allowed([...labels].map(([because, l]) => `${l.join(', ')}: ${because}`).join('; '));
}
