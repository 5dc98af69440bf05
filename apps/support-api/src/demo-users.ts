import { DEMO_TENANTS } from '@app/demo-kit';

/** A demo user of support-api: fixed ids, so seeded tickets and printed tokens match. */
export interface SupportDemoUser {
  tenant: keyof typeof SUPPORT_DEMO_USERS;
  tenantId: string;
  userId: string;
  role: 'agent' | 'admin';
}

/** The fixed user ids of the demo's support agents and admins, per tenant. */
export const SUPPORT_DEMO_USERS = {
  acme: {
    agent: '0a000000-0000-4000-8000-0000000a0001',
    admin: '0a000000-0000-4000-8000-0000000a0002',
  },
  globex: {
    agent: '0b000000-0000-4000-8000-0000000b0001',
    admin: '0b000000-0000-4000-8000-0000000b0002',
  },
} as const;

/** Every demo user as a flat list, in a stable order (acme first, agent before admin). */
export function supportDemoUsers(): SupportDemoUser[] {
  return (['acme', 'globex'] as const).flatMap((tenant) =>
    (['agent', 'admin'] as const).map((role) => ({
      tenant,
      tenantId: DEMO_TENANTS[tenant].id,
      userId: SUPPORT_DEMO_USERS[tenant][role],
      role,
    })),
  );
}
