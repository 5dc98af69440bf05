import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { KeysetPageQuery } from '@app/demo-kit';
import { TICKET_STATUSES, TicketStatus } from '../ticket-values';

/** Query of `GET /tickets`: an optional status filter and keyset pagination, newest first. */
export class ListTicketsQuery extends KeysetPageQuery {
  @ApiPropertyOptional({ enum: TICKET_STATUSES })
  @IsOptional()
  @IsIn(TICKET_STATUSES)
  status?: TicketStatus;
}
