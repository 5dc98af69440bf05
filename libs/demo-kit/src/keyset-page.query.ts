import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

/** The page size when a listing's query names none. */
export const DEFAULT_PAGE_SIZE = 50;

/** The page size of a listing: `limit` (1-100, default 50). */
export class PageLimitQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: DEFAULT_PAGE_SIZE })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;
}

/** Query parameters of a keyset-paginated listing: `limit` (1-100, default 50) and `cursor`. */
export class KeysetPageQuery extends PageLimitQuery {
  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}

/**
 * Query parameters of a listing by name ({@link findNamePage}): `limit` and a `cursor` long enough
 * for a 200-character name of 4-byte characters.
 */
export class NamePageQuery extends PageLimitQuery {
  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(1200)
  cursor?: string;
}
