import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** A customer account (`sales.accounts`); every role of the tenant sees all of them. */
@Entity({ schema: 'sales', name: 'accounts' })
export class Account {
  @PrimaryColumn({ type: 'uuid', name: 'tenant_id' })
  tenantId: string;

  @PrimaryColumn({ type: 'uuid', default: () => 'gen_random_uuid()' })
  id: string;

  @Column({ type: 'text' })
  name: string;

  @Column({ type: 'text', nullable: true })
  domain: string | null;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt: Date;
}
