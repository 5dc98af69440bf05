import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { KeysetPageQuery } from '@app/demo-kit';

/**
 * Query of `GET /kb/articles`: optional full-text search terms (web-search syntax) and keyset
 * pagination. A cursor belongs to the listing that made it: a search's cursor with the same `q`.
 */
export class SearchArticlesQuery extends KeysetPageQuery {
  @ApiPropertyOptional({ maxLength: 200, example: 'reset password' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  q?: string;
}
