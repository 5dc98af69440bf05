import { createHash } from 'node:crypto';

/**
 * Deterministic ids: every generated row's uuid is the md5 of a label shaped as a version-4 uuid
 * (`uuid(label)` in data.ts builds the same in SQL), so that the same tenant gets byte-identical
 * rows in every benchmark database, and TypeScript can name them.
 */
export function md5Uuid(label: string): string {
  const m = createHash('md5').update(label).digest('hex');
  const h = `${m.slice(0, 12)}4${m.slice(13, 16)}${'89ab'[parseInt(m[16], 16) % 4]}${m.slice(17)}`;
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Tenant number `i` (1-based); label `'bench-tenant-' || i`. */
export const tenantId = (i: number): string => md5Uuid(`bench-tenant-${i}`);

/** Ticket `g` of tenant `i`. */
export const ticketId = (i: number, g: number): string => md5Uuid(`bench-ticket-${i}-${g}`);

/** Support user `u` (0-49) of tenant `i`: requesters and assignees. */
export const supportUserId = (i: number, u: number): string => md5Uuid(`bench-user-${i}-${u}`);

/** Team member `k` (1-based, heap order: the parent of k is floor((k - 2) / b) + 1) of tenant `i`. */
export const memberId = (i: number, k: number): string => md5Uuid(`bench-member-${i}-${k}`);

/** The tenants with a role in the benchmark. */
export const BENCH_TENANTS = {
  /** Large support tenant: reads (HTTP, database level, scale). Never written. */
  supportRead: 1,
  /** Big sales tenant: the deep reporting tree and the deals. */
  sales: 2,
  /** Large support tenant that POST /tickets writes into. */
  supportWrite: 3,
} as const;
