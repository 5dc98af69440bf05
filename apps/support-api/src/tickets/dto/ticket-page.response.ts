import { ApiProperty } from '@nestjs/swagger';
import { TicketResponse } from './ticket.response';

/** One page of `GET /tickets`; `nextCursor` is null on the last page. */
export class TicketPageResponse {
  @ApiProperty({ type: [TicketResponse] })
  items: TicketResponse[];

  @ApiProperty({ type: String, nullable: true })
  nextCursor: string | null;
}
