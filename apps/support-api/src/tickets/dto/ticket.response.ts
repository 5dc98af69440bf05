import { ApiProperty } from '@nestjs/swagger';
import { Ticket } from '../ticket.entity';
import { TICKET_PRIORITIES, TICKET_STATUSES, TicketPriority, TicketStatus } from '../ticket-values';

/** A ticket as the API returns it (no tenant id). */
export class TicketResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty()
  subject: string;

  @ApiProperty({ type: String, nullable: true })
  description: string | null;

  @ApiProperty({ enum: TICKET_STATUSES })
  status: TicketStatus;

  @ApiProperty({ enum: TICKET_PRIORITIES })
  priority: TicketPriority;

  @ApiProperty({ format: 'uuid' })
  requesterId: string;

  @ApiProperty({ format: 'uuid', type: String, nullable: true })
  assigneeId: string | null;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt: string;

  /** Maps an entity to the response shape. */
  static from(ticket: Ticket): TicketResponse {
    return {
      id: ticket.id,
      subject: ticket.subject,
      description: ticket.description,
      status: ticket.status,
      priority: ticket.priority,
      requesterId: ticket.requesterId,
      assigneeId: ticket.assigneeId,
      createdAt: ticket.createdAt.toISOString(),
      updatedAt: ticket.updatedAt.toISOString(),
    };
  }
}
