import { ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { Repository } from 'typeorm';
import { TenantContext } from '@app/tenancy';
import { ArticleListResponse } from './dto/article-list.response';
import { ArticleResponse } from './dto/article.response';
import { CreateArticleDto } from './dto/create-article.dto';
import { UpdateArticleDto } from './dto/update-article.dto';
import { KbArticle } from './kb-article.entity';

const QUERY = `websearch_to_tsquery('english', :q)`;

/** The knowledge base: global articles plus the tenant's own, as row-level security shows them. */
@Injectable()
export class KbArticlesService {
  constructor(@InjectRepository(KbArticle) private readonly articles: Repository<KbArticle>) {}

  /** Every visible article; with `q`, only matches, most relevant first. */
  async search(q: string | undefined): Promise<ArticleListResponse> {
    const qb = this.articles.createQueryBuilder('a');
    const terms = q?.trim();
    if (terms) {
      qb.where(`a.search @@ ${QUERY}`, { q: terms }).orderBy(`ts_rank(a.search, ${QUERY})`, 'DESC');
    }
    qb.addOrderBy('a.createdAt', 'DESC').addOrderBy('a.id', 'DESC');
    return { items: (await qb.getMany()).map((a) => ArticleResponse.from(a)) };
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
