import { Client } from 'pg';
import { SEED_GLOBAL_ARTICLES, SEED_TENANTS, SeedArticle } from './seed-data';

const INSERT_ARTICLE = `
  INSERT INTO support.kb_articles (id, tenant_id, title, body, created_at, updated_at)
  VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (id) DO NOTHING`;

const INSERT_AGENT = `
  INSERT INTO support.agents (tenant_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`;

const INSERT_TICKET = `
  INSERT INTO support.tickets (tenant_id, id, subject, description, status, priority, requester_id,
                               assignee_id, created_at, updated_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT (tenant_id, id) DO NOTHING`;

const INSERT_COMMENT = `
  INSERT INTO support.ticket_comments (tenant_id, id, ticket_id, author_id, body, created_at)
  VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, id) DO NOTHING`;

async function insertArticle(owner: Client, tenantId: string | null, a: SeedArticle) {
  await owner.query(INSERT_ARTICLE, [a.id, tenantId, a.title, a.body, a.createdAt]);
}

async function asTenant(owner: Client, tenantId: string, fn: () => Promise<void>): Promise<void> {
  await owner.query('BEGIN');
  try {
    await owner.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenantId]);
    await fn();
    await owner.query('COMMIT');
  } catch (error) {
    await owner.query('ROLLBACK');
    throw error;
  }
}

/**
 * Idempotent demo data for support-api, written as the owner inside per-tenant transactions (FORCE
 * RLS applies to the owner too): each tenant's agents first (a ticket's assignee must be one), then
 * its tickets, comments and articles. Safe to run on every `npm run demo`. Global articles are
 * written with no tenant set (the owner is their only writer); the demo tenants must exist already.
 */
export async function seedSupport(owner: Client): Promise<void> {
  for (const article of SEED_GLOBAL_ARTICLES) await insertArticle(owner, null, article);
  for (const tenant of SEED_TENANTS) {
    await asTenant(owner, tenant.tenantId, async () => {
      for (const userId of tenant.agents)
        await owner.query(INSERT_AGENT, [tenant.tenantId, userId]);
      for (const t of tenant.tickets) {
        await owner.query(INSERT_TICKET, [
          tenant.tenantId,
          t.id,
          t.subject,
          t.description,
          t.status,
          t.priority,
          t.requesterId,
          t.assigneeId,
          t.createdAt,
        ]);
        for (const c of t.comments) {
          await owner.query(INSERT_COMMENT, [
            tenant.tenantId,
            c.id,
            t.id,
            c.authorId,
            c.body,
            c.createdAt,
          ]);
        }
      }
      for (const article of tenant.articles) await insertArticle(owner, tenant.tenantId, article);
    });
  }
}
