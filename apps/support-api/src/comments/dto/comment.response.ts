import { ApiProperty } from '@nestjs/swagger';
import { TicketComment } from '../ticket-comment.entity';

/** A ticket comment as the API returns it (no tenant id). */
export class CommentResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ format: 'uuid' })
  ticketId: string;

  @ApiProperty({ format: 'uuid' })
  authorId: string;

  @ApiProperty()
  body: string;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  /** Maps an entity to the response shape. */
  static from(comment: TicketComment): CommentResponse {
    return {
      id: comment.id,
      ticketId: comment.ticketId,
      authorId: comment.authorId,
      body: comment.body,
      createdAt: comment.createdAt.toISOString(),
    };
  }
}
