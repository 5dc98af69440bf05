import { ApiProperty } from '@nestjs/swagger';
import { CommentResponse } from './comment.response';

/** One page of a ticket's comments, oldest first; `nextCursor` is null on the last page. */
export class CommentListResponse {
  @ApiProperty({ type: [CommentResponse] })
  items: CommentResponse[];

  @ApiProperty({ type: String, nullable: true })
  nextCursor: string | null;
}
