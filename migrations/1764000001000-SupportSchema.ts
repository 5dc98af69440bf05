import { MigrationInterface, QueryRunner } from 'typeorm';
import { enableSharedRls, enableTenantRls } from '@app/tenancy';
import { appRole } from './migration-env';

/**
 * The support schema's tables, policies and grants: tenant-owned `tickets` and `ticket_comments`
 * (keys and the comment-to-ticket foreign key lead with `tenant_id`) and `kb_articles`, which holds
 * global rows (`tenant_id IS NULL`, written only by the owner) next to tenant rows, with a ranked
 * full-text index. The application always writes `tenant_id` itself (no column default); the
 * policies refuse any other value. Timestamps are `timestamptz(3)` so that a millisecond JSON
 * timestamp (and so a pagination cursor) round-trips exactly.
 */
export class SupportSchema1764000001000 implements MigrationInterface {
  name = 'SupportSchema1764000001000';

  async up(q: QueryRunner): Promise<void> {
    const options = { appRole: appRole() };
    await q.query(`
      CREATE TABLE support.tickets (
        tenant_id uuid NOT NULL REFERENCES tenancy.tenants (id),
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        subject text NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
        description text CHECK (length(description) <= 10000),
        status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending', 'solved', 'closed')),
        priority text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
        requester_id uuid NOT NULL,
        assignee_id uuid,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, id)
      )`);
    await q.query(
      `CREATE INDEX tickets_newest_idx ON support.tickets (tenant_id, created_at DESC, id DESC)`,
    );
    await q.query(
      `CREATE INDEX tickets_status_newest_idx
         ON support.tickets (tenant_id, status, created_at DESC, id DESC)`,
    );
    await enableTenantRls(q, 'support.tickets', options);

    await q.query(`
      CREATE TABLE support.ticket_comments (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        ticket_id uuid NOT NULL,
        author_id uuid NOT NULL,
        body text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, id),
        FOREIGN KEY (tenant_id, ticket_id) REFERENCES support.tickets (tenant_id, id) ON DELETE CASCADE
      )`);
    await q.query(
      `CREATE INDEX ticket_comments_ticket_idx
         ON support.ticket_comments (tenant_id, ticket_id, created_at, id)`,
    );
    await enableTenantRls(q, 'support.ticket_comments', options);

    await q.query(`
      CREATE TABLE support.kb_articles (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid REFERENCES tenancy.tenants (id),
        title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
        body text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
        search tsvector GENERATED ALWAYS AS (
          setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')
        ) STORED,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX kb_articles_search_idx ON support.kb_articles USING gin (search)`);
    await enableSharedRls(q, 'support.kb_articles', options);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE support.kb_articles`);
    await q.query(`DROP TABLE support.ticket_comments`);
    await q.query(`DROP TABLE support.tickets`);
  }
}
