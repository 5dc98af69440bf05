import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/**
 * A knowledge-base article (`support.kb_articles`): global when `tenantId` is null (read by every
 * tenant, written only by the owner), otherwise owned by one tenant. The generated `search`
 * tsvector column is used in queries only, never loaded.
 */
@Entity({ schema: 'support', name: 'kb_articles' })
export class KbArticle {
  /**
   * Chosen by the database, never sent: ids are unique across tenants, so the app role may not
   * write them (a taken id would answer with a unique violation); read back by RETURNING.
   */
  @PrimaryColumn({ type: 'uuid', insert: false, update: false, default: () => 'gen_random_uuid()' })
  id: string;

  @Column({ name: 'tenant_id', type: 'uuid', nullable: true })
  tenantId: string | null;

  @Column({ type: 'text' })
  title: string;

  @Column({ type: 'text' })
  body: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}
