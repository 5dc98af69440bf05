import { ApiProperty } from '@nestjs/swagger';
import { DEAL_STAGES, DealStage } from '../deals/deal-stage';

/** One stage of the pipeline report. */
export class PipelineStage {
  @ApiProperty({ enum: DEAL_STAGES })
  stage: DealStage;

  @ApiProperty()
  count: number;

  @ApiProperty({ example: 12500.5 })
  totalAmount: number;
}

/** `GET /reports/pipeline`: every stage in pipeline order, zeros included. */
export class PipelineResponse {
  @ApiProperty({ type: [PipelineStage] })
  stages: PipelineStage[];
}
