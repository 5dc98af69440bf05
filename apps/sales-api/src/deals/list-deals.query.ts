import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { KeysetPageQuery } from '@app/demo-kit';
import { DEAL_STAGES, DealStage } from './deal-stage';

/** Query of `GET /deals`: an optional stage filter and keyset pagination, oldest first. */
export class ListDealsQuery extends KeysetPageQuery {
  @ApiPropertyOptional({ enum: DEAL_STAGES })
  @IsOptional()
  @IsIn(DEAL_STAGES)
  stage?: DealStage;
}
