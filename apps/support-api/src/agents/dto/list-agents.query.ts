import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsUUID } from 'class-validator';
import { PageLimitQuery } from '@app/demo-kit';

/** Query of `GET /agents`: `limit` (1-100, default 50) and the `cursor` of the previous page. */
export class ListAgentsQuery extends PageLimitQuery {
  @ApiPropertyOptional({ description: 'nextCursor of the previous page', format: 'uuid' })
  @IsOptional()
  @IsUUID('all', { message: 'cursor must be the nextCursor of the previous page' })
  cursor?: string;
}
