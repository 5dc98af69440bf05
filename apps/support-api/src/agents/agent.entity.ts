import { CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** A user a tenant's tickets may be assigned to (`support.agents`). */
@Entity({ schema: 'support', name: 'agents' })
export class Agent {
  @PrimaryColumn({ name: 'tenant_id', type: 'uuid' })
  tenantId: string;

  @PrimaryColumn({ name: 'user_id', type: 'uuid' })
  userId: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;
}
