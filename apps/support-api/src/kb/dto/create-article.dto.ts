import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches, MaxLength } from 'class-validator';

/** Body of `POST /kb/articles`: a new article of the caller's tenant. */
export class CreateArticleDto {
  @ApiProperty({ minLength: 1, maxLength: 200 })
  @IsString()
  @MaxLength(200)
  @Matches(/\S/, { message: 'title must not be empty' })
  title: string;

  @ApiProperty({ minLength: 1, maxLength: 10000 })
  @IsString()
  @MaxLength(10000)
  @Matches(/\S/, { message: 'body must not be empty' })
  body: string;
}
