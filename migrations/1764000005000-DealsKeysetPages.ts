import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `GET /deals` pages by `(created_at, id)` like `GET /tickets`: deals' `created_at` keeps
 * milliseconds (what a cursor carries; a stored microsecond would make a cursor skip or repeat
 * rows), and an index serves a page in that order.
 */
export class DealsKeysetPages1764000005000 implements MigrationInterface {
  name = 'DealsKeysetPages1764000005000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sales.deals ALTER COLUMN created_at TYPE timestamptz(3)`);
    await q.query(`CREATE INDEX deals_oldest_idx ON sales.deals (tenant_id, created_at, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX sales.deals_oldest_idx`);
    await q.query(`ALTER TABLE sales.deals ALTER COLUMN created_at TYPE timestamptz`);
  }
}
