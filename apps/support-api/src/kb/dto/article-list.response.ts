import { ApiProperty } from '@nestjs/swagger';
import { ArticleResponse } from './article.response';

/**
 * One page of the articles visible to the tenant: ranked by relevance with `q`, newest first
 * without; `nextCursor` is null on the last page.
 */
export class ArticleListResponse {
  @ApiProperty({ type: [ArticleResponse] })
  items: ArticleResponse[];

  @ApiProperty({ type: String, nullable: true })
  nextCursor: string | null;
}
