import {
  PolicyEvaluation,
  RowAccessExplanation,
  RowAccessVerdict,
} from './row-access-explanation.interface';

const COMMANDS = ['read', 'update', 'delete'] as const;

function outcome(passed: boolean | null | undefined, error?: string): string {
  if (error !== undefined) return 'error';
  if (passed === undefined) return '-';
  if (passed === null) return 'n/a';
  return passed ? 'pass' : 'fail';
}

function cell(verdict: RowAccessVerdict, name: string, withCheck: boolean): string {
  const policy = verdict.policies.find((p) => p.name === name);
  if (!policy) return '-';
  const using = outcome(policy.passed, policy.error);
  return withCheck && policy.checkPassed !== undefined
    ? `${using}/${outcome(policy.checkPassed, policy.error)}`
    : using;
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd(),
  );
}

function indent(text: string, by: string): string {
  return text
    .split('\n')
    .map((line) => `${by}${line}`)
    .join('\n');
}

function actualLine(verdict: RowAccessVerdict): string[] {
  if (!verdict.actual) return [];
  const seen = verdict.actual.allowed ? 'allowed' : 'refused';
  const error = verdict.actual.error ? ` (${verdict.actual.error})` : '';
  const agreement = verdict.mismatch
    ? '  MISMATCH: a policy depends on something the evaluation cannot reproduce'
    : '';
  return [`actual: ${seen}${error}${agreement}`];
}

/**
 * Formats an explanation of {@link explainRowAccess} for people: the verdicts with their reasons
 * (and what the statements did when run as the role), a table of the policies with what each
 * yielded per command (`pass`, `fail`, `n/a` without an expression, `-` when it takes no part;
 * update shows USING/WITH CHECK), their expressions, and the policies written for other roles.
 */
export function formatRowAccessExplanation(explanation: RowAccessExplanation): string {
  const { context } = explanation;
  const key = Object.entries(explanation.key)
    .map(([c, v]) => `${c}=${String(v)}`)
    .join(', ');
  const lines = [
    `${explanation.table} (${key})`,
    `as ${explanation.role}, tenant ${context.tenantId}, user ${context.userId}, role ${context.role}`,
    `row ${explanation.exists ? 'exists' : 'does not exist'}; row-level security ${explanation.rowSecurity}`,
    '',
  ];
  for (const command of COMMANDS) {
    const verdict = explanation[command];
    const head = `${command.padEnd(6)}  ${verdict.allowed ? 'allowed' : 'refused'}  `;
    lines.push(`${head}${verdict.reason}`);
    lines.push(...actualLine(verdict).map((l) => `${' '.repeat(head.length)}${l}`));
  }

  const policies = new Map<string, PolicyEvaluation>();
  for (const command of COMMANDS) {
    for (const p of explanation[command].policies) policies.set(p.name, p);
  }
  const ordered = [...policies.values()].sort((a, b) => a.name.localeCompare(b.name));
  if (ordered.length) {
    lines.push('');
    lines.push(
      ...table([
        ['policy', 'kind', 'for', 'read', 'update (using/check)', 'delete'],
        ...ordered.map((p) => [
          p.name,
          p.kind,
          p.command,
          cell(explanation.read, p.name, false),
          cell(explanation.update, p.name, true),
          cell(explanation.delete, p.name, false),
        ]),
      ]),
    );
    for (const p of ordered) {
      lines.push('', `${p.name} (${p.kind}, FOR ${p.command}, TO ${p.roles.join(', ')})`);
      if (p.expression !== null) lines.push(indent(`USING ${p.expression.trim()}`, '  '));
      if (p.check !== null && p.check === p.expression) lines.push('  WITH CHECK: as USING');
      else if (p.check !== null) lines.push(indent(`WITH CHECK ${p.check.trim()}`, '  '));
      if (p.error !== undefined) lines.push(`  error: ${p.error}`);
    }
  }
  if (explanation.otherPolicies.length) {
    const others = explanation.otherPolicies.map((p) => `${p.name} (TO ${p.roles.join(', ')})`);
    lines.push('', `not applying to ${explanation.role}: ${others.join(', ')}`);
  }
  return lines.join('\n');
}
