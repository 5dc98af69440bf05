import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, IsUUID, Matches, MaxLength } from 'class-validator';
import { ValidateIfPresent } from '@app/demo-kit';
import { TICKET_PRIORITIES, TICKET_STATUSES, TicketPriority, TicketStatus } from '../ticket-values';

/** Body of `PATCH /tickets/:id`: only the fields given change; `assigneeId: null` unassigns. */
export class UpdateTicketDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: 200 })
  @ValidateIfPresent()
  @IsString()
  @MaxLength(200)
  @Matches(/\S/, { message: 'subject must not be empty' })
  subject?: string;

  @ApiPropertyOptional({ enum: TICKET_STATUSES })
  @ValidateIfPresent()
  @IsIn(TICKET_STATUSES)
  status?: TicketStatus;

  @ApiPropertyOptional({ enum: TICKET_PRIORITIES })
  @ValidateIfPresent()
  @IsIn(TICKET_PRIORITIES)
  priority?: TicketPriority;

  @ApiPropertyOptional({ format: 'uuid', nullable: true, type: String })
  @IsOptional()
  @IsUUID('all')
  assigneeId?: string | null;
}
