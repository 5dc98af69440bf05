import {
  BadRequestException,
  ForbiddenException,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { Repository } from 'typeorm';
import {
  decodeKeysetCursor,
  DEFAULT_PAGE_SIZE,
  encodeKeysetCursor,
  findKeysetPage,
  KeysetCursor,
  pageOf,
} from '@app/demo-kit';
import { TenantContext } from '@app/tenancy';
import { ArticleListResponse } from './dto/article-list.response';
import { ArticleResponse } from './dto/article.response';
import { CreateArticleDto } from './dto/create-article.dto';
import { SearchArticlesQuery } from './dto/search-articles.query';
import { UpdateArticleDto } from './dto/update-article.dto';
import { KbArticle } from './kb-article.entity';

const QUERY = `websearch_to_tsquery('english', :q)`;
const RANK = `ts_rank(a.search, ${QUERY})`;

/** A `real` as PostgreSQL prints it (ts_rank is never negative). */
const REAL = /^\d+(\.\d+)?(e[-+]\d+)?$/;

/** A search's position: the rank of its last article, then that article's keyset position. */
function encodeSearchCursor(rank: string, article: KbArticle): string {
  return Buffer.from(`${rank}|${encodeKeysetCursor(article)}`).toString('base64url');
}

/** Decodes a cursor made by {@link encodeSearchCursor}; anything else is a 400. */
function decodeSearchCursor(value: string): KeysetCursor & { rank: string } {
  const [rank, position, ...rest] = Buffer.from(value, 'base64url').toString('utf8').split('|');
  if (rest.length || !REAL.test(rank) || position === undefined) {
    throw new BadRequestException('cursor is malformed');
  }
  return { rank, ...decodeKeysetCursor(position) };
}

/** The knowledge base: global articles plus the tenant's own, as row-level security shows them. */
@Injectable()
export class KbArticlesService {
  constructor(@InjectRepository(KbArticle) private readonly articles: Repository<KbArticle>) {}

  /**
   * One page of the visible articles after the cursor's position: newest first, or with `q` only
   * the matches, most relevant first (ties newest first). A search's cursor carries the rank of
   * its last article as PostgreSQL printed it, which reads back as the same `real`.
   */
  async search(query: SearchArticlesQuery): Promise<ArticleListResponse> {
    const qb = this.articles.createQueryBuilder('a');
    const terms = query.q?.trim();
    if (!terms) {
      const { page, nextCursor } = await findKeysetPage(qb, 'a', 'DESC', query);
      return { items: page.map((a) => ArticleResponse.from(a)), nextCursor };
    }
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    qb.where(`a.search @@ ${QUERY}`, { q: terms })
      .addSelect(`CAST(${RANK} AS text)`, 'rank')
      .orderBy(RANK, 'DESC')
      .addOrderBy('a.createdAt', 'DESC')
      .addOrderBy('a.id', 'DESC')
      .limit(limit + 1);
    if (query.cursor !== undefined) {
      const after = decodeSearchCursor(query.cursor);
      qb.andWhere(
        `(${RANK}, a.createdAt, a.id) < (CAST(:rank AS real), CAST(:keysetAt AS timestamptz), CAST(:keysetId AS uuid))`,
        { rank: after.rank, keysetAt: after.createdAt.toISOString(), keysetId: after.id },
      );
    }
    const { entities, raw } = await qb.getRawAndEntities<{ rank: string }>();
    const { page, nextCursor } = pageOf(entities, limit, (last) =>
      encodeSearchCursor(raw[limit - 1].rank, last),
    );
    return { items: page.map((a) => ArticleResponse.from(a)), nextCursor };
  }

  /** Writes a new article of the caller's tenant. */
  async create(context: TenantContext, dto: CreateArticleDto): Promise<ArticleResponse> {
    const article = this.articles.create({
      id: randomUUID(),
      tenantId: context.tenantId,
      title: dto.title,
      body: dto.body,
    });
    return ArticleResponse.from(await this.articles.save(article));
  }

  /** Changes one of the tenant's own articles; a global one is 403, an invisible one 404. */
  async update(id: string, dto: UpdateArticleDto): Promise<ArticleResponse> {
    const article = await this.findWritable(id);
    Object.assign(article, dto);
    return ArticleResponse.from(await this.articles.save(article));
  }

  /** Deletes one of the tenant's own articles; a global one is 403, an invisible one 404. */
  async remove(id: string): Promise<void> {
    const article = await this.findWritable(id);
    await this.articles.delete({ id: article.id });
  }

  private async findWritable(id: string): Promise<KbArticle> {
    const article = await this.articles.findOneBy({ id });
    if (!article) throw new NotFoundException('article not found');
    if (article.tenantId === null) throw new ForbiddenException('global articles are read-only');
    return article;
  }
}
