import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { TICKET_PRIORITIES, TicketPriority } from '../../tickets/ticket-values';

/**
 * An email to turn into a ticket: the body of `POST /inbound-emails` and the payload of the
 * `inbound-email` message. The tenant and requester come from the token, never from the email.
 */
export class InboundEmailDto {
  @ApiProperty({ minLength: 1, maxLength: 200, example: 'Printer on fire' })
  @IsString()
  @MaxLength(200)
  @Matches(/\S/, { message: 'subject must not be empty' })
  subject: string;

  @ApiPropertyOptional({ maxLength: 10000 })
  @IsOptional()
  @IsString()
  @MaxLength(10000)
  body?: string;

  @ApiPropertyOptional({ enum: TICKET_PRIORITIES, default: 'normal' })
  @IsOptional()
  @IsIn(TICKET_PRIORITIES)
  priority?: TicketPriority;
}
