import { ApiProperty } from '@nestjs/swagger';
import { KbArticle } from '../kb-article.entity';

/** A knowledge-base article as the API returns it (no tenant id; `scope` tells whose it is). */
export class ArticleResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty()
  title: string;

  @ApiProperty()
  body: string;

  @ApiProperty({ enum: ['global', 'tenant'] })
  scope: 'global' | 'tenant';

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt: string;

  /** Maps an entity to the response shape. */
  static from(article: KbArticle): ArticleResponse {
    return {
      id: article.id,
      title: article.title,
      body: article.body,
      scope: article.tenantId === null ? 'global' : 'tenant',
      createdAt: article.createdAt.toISOString(),
      updatedAt: article.updatedAt.toISOString(),
    };
  }
}
