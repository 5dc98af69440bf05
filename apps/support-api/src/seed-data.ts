import { DEMO_TENANTS } from '@app/demo-kit';
import { SUPPORT_DEMO_USERS } from './demo-users';

/** A seeded global knowledge-base article (no tenant). */
export interface SeedArticle {
  id: string;
  title: string;
  body: string;
  createdAt: string;
}

/** A seeded ticket with its comments. */
export interface SeedTicket {
  id: string;
  subject: string;
  description: string | null;
  status: 'open' | 'pending' | 'solved' | 'closed';
  priority: 'low' | 'normal' | 'high' | 'urgent';
  requesterId: string;
  assigneeId: string | null;
  createdAt: string;
  comments: { id: string; authorId: string; body: string; createdAt: string }[];
}

/** One tenant's seeded support data. */
export interface SeedTenant {
  tenantId: string;
  /** User ids of the tenant's agents: who its tickets may be assigned to. */
  agents: string[];
  tickets: SeedTicket[];
  articles: SeedArticle[];
}

/** Global articles every tenant reads. */
export const SEED_GLOBAL_ARTICLES: SeedArticle[] = [
  {
    id: '5e000000-0000-4000-8000-000000000001',
    title: 'How to reset your password',
    body: 'Open the sign-in page, choose "Forgot password" and follow the link we email you.',
    createdAt: '2025-11-01T09:00:00.000Z',
  },
  {
    id: '5e000000-0000-4000-8000-000000000002',
    title: 'Exporting your data',
    body: 'Admins can export tickets as CSV from Settings, Data, Export.',
    createdAt: '2025-11-02T09:00:00.000Z',
  },
  {
    id: '5e000000-0000-4000-8000-000000000003',
    title: 'Service status and maintenance windows',
    body: 'Planned maintenance happens on Sundays between 02:00 and 04:00 UTC.',
    createdAt: '2025-11-03T09:00:00.000Z',
  },
];

const acme = SUPPORT_DEMO_USERS.acme;
const globex = SUPPORT_DEMO_USERS.globex;

/** Per-tenant tickets, comments and articles of the demo tenants acme and globex. */
export const SEED_TENANTS: SeedTenant[] = [
  {
    tenantId: DEMO_TENANTS.acme.id,
    agents: [acme.agent, acme.admin],
    tickets: [
      {
        id: '0a000000-0000-4000-8000-000000001001',
        subject: 'Rocket skates veer to the left',
        description: 'Both pairs delivered last week pull hard left at full speed.',
        status: 'open',
        priority: 'high',
        requesterId: acme.agent,
        assigneeId: acme.admin,
        createdAt: '2025-11-20T08:00:00.000Z',
        comments: [
          {
            id: '0a000000-0000-4000-8000-000000002001',
            authorId: acme.admin,
            body: 'Replacement gyroscopes are on their way.',
            createdAt: '2025-11-20T09:30:00.000Z',
          },
        ],
      },
      {
        id: '0a000000-0000-4000-8000-000000001002',
        subject: 'Cannot reset password',
        description: null,
        status: 'pending',
        priority: 'normal',
        requesterId: acme.agent,
        assigneeId: null,
        createdAt: '2025-11-21T08:00:00.000Z',
        comments: [],
      },
      {
        id: '0a000000-0000-4000-8000-000000001003',
        subject: 'Invoice shows the wrong address',
        description: 'The November invoice still lists our old warehouse.',
        status: 'solved',
        priority: 'low',
        requesterId: acme.admin,
        assigneeId: acme.agent,
        createdAt: '2025-11-22T08:00:00.000Z',
        comments: [
          {
            id: '0a000000-0000-4000-8000-000000002002',
            authorId: acme.agent,
            body: 'Billing fixed the address; a corrected invoice was sent.',
            createdAt: '2025-11-22T10:00:00.000Z',
          },
        ],
      },
    ],
    articles: [
      {
        id: '0a000000-0000-4000-8000-000000003001',
        title: 'Acme: returning defective anvils',
        body: 'Anvils that arrive cracked are replaced free of charge within 30 days.',
        createdAt: '2025-11-05T09:00:00.000Z',
      },
    ],
  },
  {
    tenantId: DEMO_TENANTS.globex.id,
    agents: [globex.agent, globex.admin],
    tickets: [
      {
        id: '0b000000-0000-4000-8000-000000001001',
        subject: 'Doomsday device needs a password reset',
        description: 'Hank locked himself out of the control console again.',
        status: 'open',
        priority: 'urgent',
        requesterId: globex.agent,
        assigneeId: null,
        createdAt: '2025-11-20T12:00:00.000Z',
        comments: [
          {
            id: '0b000000-0000-4000-8000-000000002001',
            authorId: globex.admin,
            body: 'Reset link sent to the registered address.',
            createdAt: '2025-11-20T12:15:00.000Z',
          },
        ],
      },
      {
        id: '0b000000-0000-4000-8000-000000001002',
        subject: 'Hammock delivery delayed',
        description: null,
        status: 'closed',
        priority: 'low',
        requesterId: globex.admin,
        assigneeId: globex.agent,
        createdAt: '2025-11-21T12:00:00.000Z',
        comments: [],
      },
    ],
    articles: [
      {
        id: '0b000000-0000-4000-8000-000000003001',
        title: 'Globex: volcano lair access badges',
        body: 'Badges are issued by security on level 3; lost badges are deactivated at once.',
        createdAt: '2025-11-06T09:00:00.000Z',
      },
    ],
  },
];
