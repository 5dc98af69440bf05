import { DEMO_TENANTS, signToken } from '@app/demo-kit';
import { ACME_USERS } from './seed-data';

/** A ready-made token for the demo, with a curl line to try it. */
export interface DemoToken {
  label: string;
  token: string;
  curl: string;
}

const PEOPLE = [
  { label: 'acme admin (Ada): every acme deal', userId: ACME_USERS.ada, role: 'admin' },
  {
    label: 'acme manager (Mona, manages Max): her deals, Max, and everyone below them',
    userId: ACME_USERS.mona,
    role: 'manager',
  },
  { label: 'acme rep (Rita): only her own deals', userId: ACME_USERS.rita, role: 'rep' },
] as const;

/** Tokens the demo prints for sales-api (baseUrl like http://localhost:3002). */
export function salesDemoTokens(secret: string, baseUrl: string): DemoToken[] {
  return PEOPLE.map((p) => ({
    label: `sales-api: ${p.label}`,
    token: signToken(secret, { tenantId: DEMO_TENANTS.acme.id, userId: p.userId, role: p.role }),
    curl: `curl -H "Authorization: Bearer $TOKEN" ${baseUrl}/deals`,
  }));
}
