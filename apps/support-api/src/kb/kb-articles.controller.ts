import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentTenant, Roles, TenantContext, TenantReadOnly, TenantScoped } from '@app/tenancy';
import { IdParams } from '../common/id-params.dto';
import { ArticleListResponse } from './dto/article-list.response';
import { ArticleResponse } from './dto/article.response';
import { CreateArticleDto } from './dto/create-article.dto';
import { SearchArticlesQuery } from './dto/search-articles.query';
import { UpdateArticleDto } from './dto/update-article.dto';
import { KbArticlesService } from './kb-articles.service';

/** `/kb/articles`: agents and admins read and search; admins write their tenant's articles. */
@ApiTags('knowledge base')
@ApiBearerAuth()
@TenantScoped()
@Roles('agent', 'admin')
@Controller('kb/articles')
export class KbArticlesController {
  constructor(private readonly articles: KbArticlesService) {}

  @Get()
  @TenantReadOnly()
  @ApiOkResponse({ type: ArticleListResponse })
  search(@Query() query: SearchArticlesQuery): Promise<ArticleListResponse> {
    return this.articles.search(query);
  }

  @Post()
  @Roles('admin')
  @ApiCreatedResponse({ type: ArticleResponse })
  create(
    @CurrentTenant() context: TenantContext,
    @Body() dto: CreateArticleDto,
  ): Promise<ArticleResponse> {
    return this.articles.create(context, dto);
  }

  @Patch(':id')
  @Roles('admin')
  @ApiOkResponse({ type: ArticleResponse })
  update(@Param() params: IdParams, @Body() dto: UpdateArticleDto): Promise<ArticleResponse> {
    return this.articles.update(params.id, dto);
  }

  @Delete(':id')
  @Roles('admin')
  @HttpCode(204)
  @ApiNoContentResponse()
  remove(@Param() params: IdParams): Promise<void> {
    return this.articles.remove(params.id);
  }
}
