import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { KbArticle } from './kb-article.entity';
import { KbArticlesController } from './kb-articles.controller';
import { KbArticlesService } from './kb-articles.service';

/** The knowledge base: entity, search and routes. */
@Module({
  imports: [TypeOrmModule.forFeature([KbArticle])],
  controllers: [KbArticlesController],
  providers: [KbArticlesService],
})
export class KbModule {}
