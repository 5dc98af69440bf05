import { ApiProperty } from '@nestjs/swagger';
import { IsUUID } from 'class-validator';

/** Route parameters of a resource addressed by `:id`; a non-UUID id is a 400 naming `id`. */
export class IdParams {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all')
  id: string;
}

/** Route parameters of a user addressed by `:userId`; a non-UUID is a 400 naming `userId`. */
export class UserIdParams {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all')
  userId: string;
}
