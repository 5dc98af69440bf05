import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A support ticket: a tenant row, its key led by the tenant. */
@Entity({ schema: 'app', name: 'tickets' })
export class Ticket {
  @PrimaryColumn({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @PrimaryColumn({ type: 'uuid', default: () => 'gen_random_uuid()' })
  id!: string;

  @Column({ type: 'text' })
  subject!: string;

  @Column({ name: 'requester_id', type: 'uuid' })
  requesterId!: string;
}
