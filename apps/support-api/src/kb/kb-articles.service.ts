import {
  BadRequestException,
  ForbiddenException,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
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
/**
 * The rank as an exact decimal whatever the session's `extra_float_digits`: a `real` widens to
 * float8 exactly, and float8 becomes numeric with 15 significant digits, more than a `real` needs
 * to read back as itself (`CAST(... AS text)` of the `real` prints 6 digits when the setting is 0).
 */
const RANK_DECIMAL = `CAST(CAST(${RANK} AS float8) AS numeric)`;

/** A non-negative numeric as PostgreSQL prints it (ts_rank is never negative). */
const DECIMAL = /^\d+(\.\d+)?$/;

/** A search cursor's tag of its terms: the first 66 bits of their SHA-256, base64url. */
function termsTag(terms: string): string {
  return createHash('sha256').update(terms).digest('base64url').slice(0, 11);
}

/** A search's position: its terms' tag, the rank of its last article, then its keyset position. */
function encodeSearchCursor(terms: string, rank: string, article: KbArticle): string {
  return Buffer.from(`${termsTag(terms)}|${rank}|${encodeKeysetCursor(article)}`).toString(
    'base64url',
  );
}

/**
 * Decodes a cursor made by {@link encodeSearchCursor} for the same `terms`: one of another search
 * is a 400 (its position means nothing in this one), and so is anything else, including a rank
 * that would not read back as a finite `real` (too large, or a non-zero number rounding to 0).
 */
function decodeSearchCursor(value: string, terms: string): KeysetCursor & { rank: string } {
  const text = Buffer.from(value, 'base64url').toString('utf8');
  const [tag, rank, position, ...rest] = text.split('|');
  const real = Math.fround(Number(rank));
  const isReal = DECIMAL.test(rank) && Number.isFinite(real) && (real !== 0 || Number(rank) === 0);
  if (
    rest.length ||
    !isReal ||
    position === undefined ||
    Buffer.from(text).toString('base64url') !== value
  ) {
    throw new BadRequestException('cursor is malformed');
  }
  const after = { rank, ...decodeKeysetCursor(position) };
  if (tag !== termsTag(terms)) {
    throw new BadRequestException('cursor belongs to a search for other terms');
  }
  return after;
}

/** The knowledge base: global articles plus the tenant's own, as row-level security shows them. */
@Injectable()
export class KbArticlesService {
  constructor(@InjectRepository(KbArticle) private readonly articles: Repository<KbArticle>) {}

  /**
   * One page of the visible articles after the cursor's position: newest first, or with `q` only
   * the matches, most relevant first (ties newest first). A search's cursor carries the exact rank
   * of its last article and is good only for the same (trimmed) terms.
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
      .addSelect(RANK_DECIMAL, 'rank')
      .orderBy(RANK, 'DESC')
      .addOrderBy('a.createdAt', 'DESC')
      .addOrderBy('a.id', 'DESC')
      .limit(limit + 1);
    if (query.cursor !== undefined) {
      const after = decodeSearchCursor(query.cursor, terms);
      qb.andWhere(
        `(${RANK}, a.createdAt, a.id) < (CAST(CAST(:rank AS numeric) AS real), CAST(:keysetAt AS timestamptz), CAST(:keysetId AS uuid))`,
        { rank: after.rank, keysetAt: after.createdAt.toISOString(), keysetId: after.id },
      );
    }
    const { entities, raw } = await qb.getRawAndEntities<{ rank: string }>();
    const { page, nextCursor } = pageOf(entities, limit, (last) =>
      encodeSearchCursor(terms, raw[limit - 1].rank, last),
    );
    return { items: page.map((a) => ArticleResponse.from(a)), nextCursor };
  }

  /** Writes a new article of the caller's tenant. */
  async create(context: TenantContext, dto: CreateArticleDto): Promise<ArticleResponse> {
    const article = this.articles.create({
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
