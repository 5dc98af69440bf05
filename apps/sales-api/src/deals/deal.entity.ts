import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { DealStage } from './deal-stage';

const numeric = {
  to: (value?: number) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};

/**
 * A deal (`sales.deals`), visible to its owner, the owner's managers up the tree, and admins:
 * the policies filter it, the app never does.
 */
@Entity({ schema: 'sales', name: 'deals' })
export class Deal {
  @PrimaryColumn({ type: 'uuid', name: 'tenant_id' })
  tenantId: string;

  @PrimaryColumn({ type: 'uuid', default: () => 'gen_random_uuid()' })
  id: string;

  @Column({ type: 'uuid', name: 'account_id' })
  accountId: string;

  @Column({ type: 'text' })
  title: string;

  @Column({ type: 'numeric', precision: 14, scale: 2, transformer: numeric })
  amount: number;

  @Column({ type: 'text' })
  stage: DealStage;

  @Column({ type: 'uuid', name: 'owner_id' })
  ownerId: string;

  /** The owner's reporting chain, which a foreign key holds equal to theirs; the policies read it. */
  @Column({ type: 'uuid', array: true, name: 'owner_chain', select: false })
  ownerChain: string[];

  @CreateDateColumn({ type: 'timestamptz', precision: 3, name: 'created_at' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' })
  updatedAt: Date;
}
