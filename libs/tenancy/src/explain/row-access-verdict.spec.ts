import { EvaluatedPolicy, rowAccessVerdict, VerdictFacts } from './row-access-verdict';

function policy(
  name: string,
  fields: Partial<EvaluatedPolicy> & Pick<EvaluatedPolicy, 'using' | 'withCheck'>,
): EvaluatedPolicy {
  return {
    name,
    kind: 'PERMISSIVE',
    command: 'ALL',
    roles: ['public'],
    expression: fields.using === null ? null : `(${name})`,
    check: null,
    ...fields,
  };
}

function facts(policies: EvaluatedPolicy[], extra: Partial<VerdictFacts> = {}): VerdictFacts {
  return {
    table: 's.t',
    role: 'app_user',
    keyText: 'id=1',
    exists: true,
    rowSecurity: 'enforced',
    missingPrivilege: { read: null, update: null, delete: null },
    policies,
    ...extra,
  };
}

describe('rowAccessVerdict', () => {
  it('refuses by default when no permissive policy applies, even if every restrictive one passes', () => {
    const guard = policy('guard', { kind: 'RESTRICTIVE', using: true, withCheck: true });
    expect(rowAccessVerdict('read', facts([guard]))).toEqual({
      allowed: false,
      reason:
        'SELECT USING: no permissive SELECT policy applies to app_user, so PostgreSQL refuses by default',
      policies: [
        {
          name: 'guard',
          kind: 'RESTRICTIVE',
          command: 'ALL',
          roles: ['public'],
          expression: '(guard)',
          check: null,
          passed: true,
        },
      ],
    });
  });

  it('lets a policy without USING take no part in reading', () => {
    const writeOnly = policy('write_only', { using: null, withCheck: true, check: '(x)' });
    const reader = policy('reader', { command: 'SELECT', using: true, withCheck: null });
    const verdict = rowAccessVerdict('read', facts([reader, writeOnly]));
    expect(verdict.allowed).toBe(true);
    expect(verdict.reason).toBe('SELECT USING: reader passed');
    expect(verdict.policies.map((p) => [p.name, p.passed])).toEqual([
      ['reader', true],
      ['write_only', null],
    ]);
  });

  it('refuses an update whose unchanged row fails WITH CHECK, saying the UPDATE would raise', () => {
    const owner = policy('owner', { using: true, withCheck: false, check: '(check)' });
    const verdict = rowAccessVerdict('update', facts([owner]));
    expect(verdict.allowed).toBe(false);
    expect(verdict.reason).toBe(
      'UPDATE WITH CHECK: no permissive policy passed (owner) (the UPDATE fails with "new row violates row-level security policy")',
    );
    expect(verdict.policies.map((p) => [p.passed, p.checkPassed])).toEqual([[true, false]]);
  });

  it('names both the failing restrictive policy and the permissive ones that did not pass', () => {
    const verdict = rowAccessVerdict(
      'delete',
      facts([
        policy('guard', { kind: 'RESTRICTIVE', using: false, withCheck: false }),
        policy('mine', { using: false, withCheck: false }),
      ]),
    );
    expect(verdict.reason).toBe(
      'SELECT USING: restrictive guard did not pass; no permissive policy passed (mine)',
    );
  });

  it('refuses for a missing row or privilege before looking at policies, and lets privileges alone decide without RLS', () => {
    const all = [policy('mine', { using: true, withCheck: true })];
    expect(rowAccessVerdict('read', facts(all, { exists: false })).reason).toBe(
      'no row of s.t has id=1',
    );
    const noDelete = facts(all, {
      missingPrivilege: { read: null, update: null, delete: 'DELETE' },
    });
    expect(rowAccessVerdict('delete', noDelete)).toMatchObject({
      allowed: false,
      reason: 'app_user lacks the DELETE privilege on s.t',
    });
    expect(rowAccessVerdict('read', facts([], { rowSecurity: 'disabled' }))).toMatchObject({
      allowed: true,
      reason: 'row-level security is not enabled on s.t: privileges alone decide',
    });
  });
});
