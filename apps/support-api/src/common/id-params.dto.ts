import { ApiProperty } from '@nestjs/swagger';
import { IsUUID } from 'class-validator';

/** Route parameters of a resource addressed by `:id`; a non-UUID id is a 400 naming `id`. */
export class IdParams {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all')
  id: string;
}
