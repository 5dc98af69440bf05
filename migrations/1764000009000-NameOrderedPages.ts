import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `GET /accounts` and `GET /team/members` page by `(name, id)` (`libs/demo-kit`'s
 * `findNamePage`): an index per table serves a tenant's page in that order, from the cursor's
 * position, instead of sorting all of the tenant's rows for every page.
 */
export class NameOrderedPages1764000009000 implements MigrationInterface {
  name = 'NameOrderedPages1764000009000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX accounts_by_name_idx ON sales.accounts (tenant_id, name, id)`);
    await q.query(
      `CREATE INDEX team_members_by_name_idx ON sales.team_members (tenant_id, name, user_id)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX sales.team_members_by_name_idx`);
    await q.query(`DROP INDEX sales.accounts_by_name_idx`);
  }
}
