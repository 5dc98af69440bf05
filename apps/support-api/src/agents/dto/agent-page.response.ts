import { ApiProperty } from '@nestjs/swagger';
import { AgentResponse } from './agent.response';

/** One page of `GET /agents`, by user id; `nextCursor` is null on the last page. */
export class AgentPageResponse {
  @ApiProperty({ type: [AgentResponse] })
  items: AgentResponse[];

  @ApiProperty({ type: String, nullable: true })
  nextCursor: string | null;
}
