import { ApiProperty } from '@nestjs/swagger';
import { CommentResponse } from './comment.response';

/** The comments of one ticket, oldest first. */
export class CommentListResponse {
  @ApiProperty({ type: [CommentResponse] })
  items: CommentResponse[];
}
