import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** A comment on a ticket of the same tenant (`support.ticket_comments`). */
@Entity({ schema: 'support', name: 'ticket_comments' })
export class TicketComment {
  @PrimaryColumn({ name: 'tenant_id', type: 'uuid' })
  tenantId: string;

  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Column({ name: 'ticket_id', type: 'uuid' })
  ticketId: string;

  @Column({ name: 'author_id', type: 'uuid' })
  authorId: string;

  @Column({ type: 'text' })
  body: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;
}
