import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { CurrentTenant, Roles, TenantContext, TenantReadOnly, TenantScoped } from '@app/tenancy';
import { IdParams } from '../common/id-params.dto';
import { CommentsService } from './comments.service';
import { CommentListResponse } from './dto/comment-list.response';
import { CommentResponse } from './dto/comment.response';
import { CreateCommentDto } from './dto/create-comment.dto';
import { ListCommentsQuery } from './dto/list-comments.query';

/** `/tickets/:id/comments`: the conversation on one ticket, for agents and admins. */
@ApiTags('comments')
@ApiBearerAuth()
@TenantScoped()
@Roles('agent', 'admin')
@Controller('tickets/:id/comments')
export class CommentsController {
  constructor(private readonly comments: CommentsService) {}

  @Post()
  @ApiCreatedResponse({ type: CommentResponse })
  create(
    @CurrentTenant() context: TenantContext,
    @Param() params: IdParams,
    @Body() dto: CreateCommentDto,
  ): Promise<CommentResponse> {
    return this.comments.create(context, params.id, dto);
  }

  @Get()
  @TenantReadOnly()
  @ApiOkResponse({ type: CommentListResponse })
  list(@Param() params: IdParams, @Query() query: ListCommentsQuery): Promise<CommentListResponse> {
    return this.comments.list(params.id, query);
  }
}
