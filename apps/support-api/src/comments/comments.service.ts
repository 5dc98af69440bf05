import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { Repository } from 'typeorm';
import { findKeysetPage } from '@app/demo-kit';
import { TenantContext } from '@app/tenancy';
import { TicketsService } from '../tickets/tickets.service';
import { CommentListResponse } from './dto/comment-list.response';
import { CommentResponse } from './dto/comment.response';
import { CreateCommentDto } from './dto/create-comment.dto';
import { ListCommentsQuery } from './dto/list-comments.query';
import { TicketComment } from './ticket-comment.entity';

/** Comments on the current tenant's tickets; a ticket it cannot see is a 404. */
@Injectable()
export class CommentsService {
  constructor(
    @InjectRepository(TicketComment) private readonly comments: Repository<TicketComment>,
    private readonly tickets: TicketsService,
  ) {}

  /** Adds the caller's comment to a visible ticket. */
  async create(
    context: TenantContext,
    ticketId: string,
    dto: CreateCommentDto,
  ): Promise<CommentResponse> {
    await this.tickets.assertExists(ticketId);
    const comment = this.comments.create({
      tenantId: context.tenantId,
      id: randomUUID(),
      ticketId,
      authorId: context.userId,
      body: dto.body,
    });
    return CommentResponse.from(await this.comments.save(comment));
  }

  /** One page of a visible ticket's comments, oldest first, after the cursor's position. */
  async list(ticketId: string, query: ListCommentsQuery): Promise<CommentListResponse> {
    await this.tickets.assertExists(ticketId);
    const qb = this.comments.createQueryBuilder('c').where('c.ticketId = :ticketId', { ticketId });
    const { page, nextCursor } = await findKeysetPage(qb, 'c', 'ASC', query);
    return { items: page.map((c) => CommentResponse.from(c)), nextCursor };
  }
}
