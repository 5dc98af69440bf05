import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsNumber, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { ValidateIfPresent } from '@app/demo-kit';
import { MaxDecimalPlaces } from '../common/max-decimal-places.decorator';
import { MAX_DEAL_AMOUNT } from './create-deal.dto';
import { DEAL_STAGES, DealStage } from './deal-stage';

/** Body of `PATCH /deals/:id`: only the fields given change; none may be null. */
export class UpdateDealDto {
  @ApiPropertyOptional({ maxLength: 200 })
  @ValidateIfPresent()
  @IsString()
  @Matches(/\S/, { message: 'title must not be empty' })
  @MaxLength(200)
  title?: string;

  @ApiPropertyOptional({ minimum: 0, maximum: MAX_DEAL_AMOUNT, description: 'at most 2 decimals' })
  @ValidateIfPresent()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @MaxDecimalPlaces(2)
  @Min(0)
  @Max(MAX_DEAL_AMOUNT)
  amount?: number;

  @ApiPropertyOptional({ enum: DEAL_STAGES })
  @ValidateIfPresent()
  @IsIn(DEAL_STAGES)
  stage?: DealStage;
}
