import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { Repository } from 'typeorm';
import { TenantContext } from '@app/tenancy';
import { TicketsService } from '../tickets/tickets.service';
import { CommentListResponse } from './dto/comment-list.response';
import { CommentResponse } from './dto/comment.response';
import { CreateCommentDto } from './dto/create-comment.dto';
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

  /** The comments of a visible ticket, oldest first. */
  async list(ticketId: string): Promise<CommentListResponse> {
    await this.tickets.assertExists(ticketId);
    const rows = await this.comments.find({
      where: { ticketId },
      order: { createdAt: 'ASC', id: 'ASC' },
    });
    return { items: rows.map((c) => CommentResponse.from(c)) };
  }
}
