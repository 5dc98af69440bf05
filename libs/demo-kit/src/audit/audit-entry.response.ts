import { ApiProperty } from '@nestjs/swagger';

/** One audit entry as `GET /audit` returns it: who changed which row, how, and the changed columns. */
export class AuditEntryResponse {
  @ApiProperty({
    format: 'uuid',
    description: 'random id of the entry (says nothing about other entries); `after` takes it',
    example: '9b2f6c1e-4d3a-4f8e-9a71-2c5d8e0b6f13',
  })
  id: string;

  @ApiProperty({ format: 'date-time' })
  occurredAt: string;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'the acting user (`sub` of the token); null for writes made without a user',
  })
  actorId: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'admin' })
  actorRole: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'the `x-request-id` header of the request (or a generated id), or a job-run id',
  })
  requestId: string | null;

  @ApiProperty({ description: 'schema.table', example: 'support.tickets' })
  table: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'primary key of the row, without the tenant',
    example: { id: '0a000000-0000-4000-8000-000000001001' },
  })
  key: Record<string, unknown>;

  @ApiProperty({ enum: ['INSERT', 'UPDATE', 'DELETE'] })
  action: 'INSERT' | 'UPDATE' | 'DELETE';

  @ApiProperty({
    type: 'object',
    additionalProperties: {
      type: 'object',
      properties: { old: {}, new: {} },
    },
    description: 'changed columns with old and new values (old null on INSERT, new null on DELETE)',
    example: { priority: { old: 'normal', new: 'high' } },
  })
  changes: Record<string, { old: unknown; new: unknown }>;
}
