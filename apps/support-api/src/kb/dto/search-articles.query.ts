import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';

/** Query of `GET /kb/articles`: optional full-text search terms (web-search syntax). */
export class SearchArticlesQuery {
  @ApiPropertyOptional({ maxLength: 200, example: 'reset password' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  q?: string;
}
