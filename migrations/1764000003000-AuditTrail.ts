import { MigrationInterface, QueryRunner } from 'typeorm';
import { createAuditLog, disableAuditTrail, dropAuditLog, enableAuditTrail } from '@app/tenancy';
import { appRole } from './migration-env';

/** Audited tables, with columns kept out of the recorded changes. */
const AUDITED: [string, string[]][] = [
  ['support.tickets', []],
  ['support.ticket_comments', []],
  ['support.kb_articles', ['search']],
  ['sales.team_members', []],
  ['sales.accounts', []],
  ['sales.deals', []],
];

/** The audit log and its trigger on every table of both apps (team_closure is derived, not audited). */
export class AuditTrail1764000003000 implements MigrationInterface {
  name = 'AuditTrail1764000003000';

  async up(q: QueryRunner): Promise<void> {
    // The shape this migration created when it was written; 1764000012000 converts it.
    await createAuditLog(q, { appRole: appRole(), entryIds: 'sequence' });
    for (const [table, exclude] of AUDITED) await enableAuditTrail(q, table, { exclude });
  }

  async down(q: QueryRunner): Promise<void> {
    for (const [table] of [...AUDITED].reverse()) await disableAuditTrail(q, table);
    await dropAuditLog(q);
  }
}
