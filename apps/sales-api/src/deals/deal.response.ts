import { ApiProperty } from '@nestjs/swagger';
import { DEAL_STAGES, DealStage } from './deal-stage';
import { Deal } from './deal.entity';

/** A deal as the API returns it. */
export class DealResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ format: 'uuid' })
  accountId: string;

  @ApiProperty()
  title: string;

  @ApiProperty({ example: 12500.5 })
  amount: number;

  @ApiProperty({ enum: DEAL_STAGES })
  stage: DealStage;

  @ApiProperty({ format: 'uuid' })
  ownerId: string;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt: string;

  @ApiProperty({ type: String, format: 'date-time' })
  updatedAt: string;

  static from(deal: Deal): DealResponse {
    return {
      id: deal.id,
      accountId: deal.accountId,
      title: deal.title,
      amount: deal.amount,
      stage: deal.stage,
      ownerId: deal.ownerId,
      createdAt: deal.createdAt.toISOString(),
      updatedAt: deal.updatedAt.toISOString(),
    };
  }
}

/** `GET /deals`: one page, oldest first. */
export class DealListResponse {
  @ApiProperty({ type: [DealResponse] })
  items: DealResponse[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'cursor of the next page; null on the last',
  })
  nextCursor: string | null;
}
