import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsFQDN, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

/** Body of `POST /accounts`. */
export class CreateAccountDto {
  @ApiProperty({ example: 'Initrode', maxLength: 200 })
  @IsString()
  @Matches(/\S/, { message: 'name must not be empty' })
  @MaxLength(200)
  name: string;

  @ApiPropertyOptional({ example: 'initrode.example', maxLength: 253 })
  @IsOptional()
  @IsString()
  @MaxLength(253)
  @IsFQDN()
  domain?: string;
}
