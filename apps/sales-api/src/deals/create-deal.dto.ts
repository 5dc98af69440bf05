import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsIn,
  IsNumber,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { MaxDecimalPlaces } from '../common/max-decimal-places.decorator';
import { DEAL_STAGES, DealStage } from './deal-stage';

/** The largest amount numeric(14,2) holds. */
export const MAX_DEAL_AMOUNT = 999_999_999_999.99;

/** Body of `POST /deals`. */
export class CreateDealDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('loose')
  accountId: string;

  @ApiProperty({ example: 'Annual licence', maxLength: 200 })
  @IsString()
  @Matches(/\S/, { message: 'title must not be empty' })
  @MaxLength(200)
  title: string;

  @ApiProperty({
    example: 12500.5,
    minimum: 0,
    maximum: MAX_DEAL_AMOUNT,
    description: 'at most 2 decimals',
  })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @MaxDecimalPlaces(2)
  @Min(0)
  @Max(MAX_DEAL_AMOUNT)
  amount: number;

  @ApiPropertyOptional({ enum: DEAL_STAGES, default: 'prospecting' })
  @IsOptional()
  @IsIn(DEAL_STAGES)
  stage?: DealStage;

  @ApiPropertyOptional({
    format: 'uuid',
    description: 'default: the caller; a rep may name only themselves, a manager their subtree',
  })
  @IsOptional()
  @IsUUID('loose')
  ownerId?: string;
}
