import { ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsIn,
  IsNotEmpty,
  IsNumber,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { MAX_DEAL_AMOUNT } from './create-deal.dto';
import { DEAL_STAGES, DealStage } from './deal-stage';

/** Body of `PATCH /deals/:id`: only the fields given change. */
export class UpdateDealDto {
  @ApiPropertyOptional({ maxLength: 200 })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  title?: string;

  @ApiPropertyOptional({ minimum: 0, maximum: MAX_DEAL_AMOUNT, description: 'at most 2 decimals' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false, maxDecimalPlaces: 2 })
  @Min(0)
  @Max(MAX_DEAL_AMOUNT)
  amount?: number;

  @ApiPropertyOptional({ enum: DEAL_STAGES })
  @IsOptional()
  @IsIn(DEAL_STAGES)
  stage?: DealStage;
}
