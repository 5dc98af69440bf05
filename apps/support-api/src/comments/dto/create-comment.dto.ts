import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches, MaxLength } from 'class-validator';

/** Body of `POST /tickets/:id/comments`; the author comes from the token. */
export class CreateCommentDto {
  @ApiProperty({ minLength: 1, maxLength: 10000 })
  @IsString()
  @MaxLength(10000)
  @Matches(/\S/, { message: 'body must not be empty' })
  body: string;
}
