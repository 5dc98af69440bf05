import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, Matches, MaxLength } from 'class-validator';
import { ValidateIfPresent } from '@app/demo-kit';

/** Body of `PATCH /kb/articles/:id`: only the fields given change. */
export class UpdateArticleDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: 200 })
  @ValidateIfPresent()
  @IsString()
  @MaxLength(200)
  @Matches(/\S/, { message: 'title must not be empty' })
  title?: string;

  @ApiPropertyOptional({ minLength: 1, maxLength: 10000 })
  @ValidateIfPresent()
  @IsString()
  @MaxLength(10000)
  @Matches(/\S/, { message: 'body must not be empty' })
  body?: string;
}
