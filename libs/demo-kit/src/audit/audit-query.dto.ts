import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsInt,
  IsISO8601,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';

/** A calendar date, or a date-time with seconds optional and a zone (`Z` or `±HH:MM`). */
const ISO_DATE_OR_DATE_TIME =
  /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** Query of `GET /audit`: optional table, start time, entry to page after and page size; anything else is a 400. */
export class AuditQueryDto {
  @ApiPropertyOptional({
    description: 'only entries of this table (`schema.table`)',
    maxLength: 128,
    example: 'support.tickets',
  })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  @Matches(/^[A-Za-z_][A-Za-z0-9_$]*\.[A-Za-z_][A-Za-z0-9_$]*$/, {
    message: 'table must be schema.table',
  })
  table?: string;

  @ApiPropertyOptional({
    description: 'only entries at or after this time (ISO-8601 date, or date-time with a zone)',
    example: '2025-11-20T08:00:00Z',
  })
  @IsOptional()
  @IsString()
  @IsISO8601({ strict: true }, { message: 'since must be an ISO-8601 date or date-time' })
  @Matches(ISO_DATE_OR_DATE_TIME, {
    message: 'since must be an ISO-8601 date or date-time with a zone (Z or ±HH:MM)',
  })
  since?: string;

  @ApiPropertyOptional({
    description: 'only entries after this one: the id of the last entry of the previous page',
    format: 'uuid',
  })
  @IsOptional()
  @IsUUID('all', { message: 'after must be the id (a uuid) of an audit entry' })
  after?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;
}
