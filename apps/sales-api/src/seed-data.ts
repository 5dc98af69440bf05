import { DEMO_TENANTS } from '@app/demo-kit';
import { DealStage } from './deals/deal-stage';

/** A seeded team member. */
export interface SeedMember {
  userId: string;
  name: string;
  managerId: string | null;
  /** The role the demo signs this person's token with. */
  role: 'rep' | 'manager' | 'admin';
}

/** A seeded account. */
export interface SeedAccount {
  id: string;
  name: string;
  domain: string;
}

/** A seeded deal. */
export interface SeedDeal {
  id: string;
  accountId: string;
  title: string;
  amount: number;
  stage: DealStage;
  ownerId: string;
}

/** One tenant's seeded sales data. */
export interface SalesSeedTenant {
  tenantId: string;
  /** Parents before their reports, so the manager foreign key holds row by row. */
  members: SeedMember[];
  accounts: SeedAccount[];
  deals: SeedDeal[];
}

const acmeUser = (n: number) => `0a00a000-0000-4000-8000-${n.toString().padStart(12, '0')}`;
const acmeAccount = (n: number) => `0a00acc0-0000-4000-8000-${n.toString().padStart(12, '0')}`;
const acmeDeal = (n: number) => `0a00de00-0000-4000-8000-${n.toString().padStart(12, '0')}`;
const globexUser = (n: number) => `0b00a000-0000-4000-8000-${n.toString().padStart(12, '0')}`;
const globexAccount = (n: number) => `0b00acc0-0000-4000-8000-${n.toString().padStart(12, '0')}`;
const globexDeal = (n: number) => `0b00de00-0000-4000-8000-${n.toString().padStart(12, '0')}`;

/** Acme's people: an admin at the top, Mona managing Max and two reps, Max managing two reps. */
export const ACME_USERS = {
  ada: acmeUser(1),
  mona: acmeUser(2),
  max: acmeUser(3),
  rita: acmeUser(4),
  ravi: acmeUser(5),
  rosa: acmeUser(6),
  raj: acmeUser(7),
} as const;

/** Globex's people: an admin, a manager and one rep. */
export const GLOBEX_USERS = {
  gus: globexUser(1),
  gina: globexUser(2),
  greg: globexUser(3),
} as const;

const u = ACME_USERS;
const acmeAccounts = { initrode: acmeAccount(1), umbrella: acmeAccount(2), hooli: acmeAccount(3) };

/** The demo's sales data: fixed ids, so seeding again finds every row already there. */
export const SALES_SEED: SalesSeedTenant[] = [
  {
    tenantId: DEMO_TENANTS.acme.id,
    members: [
      { userId: u.ada, name: 'Ada Admin', managerId: null, role: 'admin' },
      { userId: u.mona, name: 'Mona Manager', managerId: u.ada, role: 'manager' },
      { userId: u.max, name: 'Max Manager', managerId: u.mona, role: 'manager' },
      { userId: u.rita, name: 'Rita Rep', managerId: u.mona, role: 'rep' },
      { userId: u.ravi, name: 'Ravi Rep', managerId: u.mona, role: 'rep' },
      { userId: u.rosa, name: 'Rosa Rep', managerId: u.max, role: 'rep' },
      { userId: u.raj, name: 'Raj Rep', managerId: u.max, role: 'rep' },
    ],
    accounts: [
      { id: acmeAccounts.initrode, name: 'Initrode', domain: 'initrode.example' },
      { id: acmeAccounts.umbrella, name: 'Umbrella', domain: 'umbrella.example' },
      { id: acmeAccounts.hooli, name: 'Hooli', domain: 'hooli.example' },
    ],
    deals: [
      [1, 'initrode', 'Initrode renewal', 12000, 'prospecting', u.rita],
      [2, 'umbrella', 'Umbrella pilot', 5000.5, 'qualification', u.rita],
      [3, 'hooli', 'Hooli expansion', 30000, 'proposal', u.ravi],
      [4, 'initrode', 'Initrode add-on', 2500, 'won', u.ravi],
      [5, 'umbrella', 'Umbrella enterprise', 80000, 'negotiation', u.rosa],
      [6, 'hooli', 'Hooli support', 1500, 'lost', u.rosa],
      [7, 'initrode', 'Initrode training', 4200, 'qualification', u.raj],
      [8, 'hooli', 'Hooli strategic', 150000, 'proposal', u.max],
      [9, 'umbrella', 'Umbrella global', 250000, 'prospecting', u.mona],
      [10, 'initrode', 'Initrode platform', 500000, 'negotiation', u.ada],
    ].map(([n, account, title, amount, stage, ownerId]) => ({
      id: acmeDeal(n as number),
      accountId: acmeAccounts[account as keyof typeof acmeAccounts],
      title: title as string,
      amount: amount as number,
      stage: stage as DealStage,
      ownerId: ownerId as string,
    })),
  },
  {
    tenantId: DEMO_TENANTS.globex.id,
    members: [
      { userId: GLOBEX_USERS.gus, name: 'Gus Admin', managerId: null, role: 'admin' },
      {
        userId: GLOBEX_USERS.gina,
        name: 'Gina Manager',
        managerId: GLOBEX_USERS.gus,
        role: 'manager',
      },
      { userId: GLOBEX_USERS.greg, name: 'Greg Rep', managerId: GLOBEX_USERS.gina, role: 'rep' },
    ],
    accounts: [{ id: globexAccount(1), name: 'Soylent', domain: 'soylent.example' }],
    deals: [
      {
        id: globexDeal(1),
        accountId: globexAccount(1),
        title: 'Soylent supply',
        amount: 42000,
        stage: 'proposal',
        ownerId: GLOBEX_USERS.greg,
      },
      {
        id: globexDeal(2),
        accountId: globexAccount(1),
        title: 'Soylent catering',
        amount: 900.99,
        stage: 'won',
        ownerId: GLOBEX_USERS.gina,
      },
    ],
  },
];
