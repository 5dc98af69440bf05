import { ApiProperty } from '@nestjs/swagger';
import { ArticleResponse } from './article.response';

/** Articles visible to the tenant: ranked by relevance with `q`, newest first without. */
export class ArticleListResponse {
  @ApiProperty({ type: [ArticleResponse] })
  items: ArticleResponse[];
}
