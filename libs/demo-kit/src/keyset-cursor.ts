import { BadRequestException } from '@nestjs/common';
import { isUUID } from 'class-validator';
import { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { DEFAULT_PAGE_SIZE, KeysetPageQuery } from './keyset-page.query';

/**
 * A row's position in a listing ordered by `(created_at, id)`, in either direction. `created_at`
 * must be stored with millisecond precision (`timestamptz(3)`): a JavaScript `Date` holds no more,
 * and a cursor that rounded a stored microsecond away would skip or repeat rows.
 */
export interface KeysetCursor {
  createdAt: Date;
  id: string;
}

/** Encodes a position as an opaque string (base64url of `createdAt|id`). */
export function encodeKeysetCursor(cursor: KeysetCursor): string {
  return Buffer.from(`${cursor.createdAt.toISOString()}|${cursor.id}`).toString('base64url');
}

/**
 * `Date#toISOString()` of an instant PostgreSQL can store: four-digit years from 0001 (the
 * expanded `-000001`/`+010000` forms and year 0 are refused).
 */
const STORABLE_INSTANT = /^(?!0000)\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Decodes a cursor made by {@link encodeKeysetCursor}; anything else is a 400. */
export function decodeKeysetCursor(value: string): KeysetCursor {
  const [at, id, ...rest] = Buffer.from(value, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at);
  const canonical =
    STORABLE_INSTANT.test(at) &&
    !Number.isNaN(createdAt.getTime()) &&
    createdAt.toISOString() === at;
  if (rest.length || !canonical || !isUUID(id, 'all')) {
    throw new BadRequestException('cursor is malformed');
  }
  return { createdAt, id };
}

/** One page of a keyset listing and the cursor of the next page (null on the last). */
export interface KeysetPage<T> {
  page: T[];
  nextCursor: string | null;
}

/**
 * Runs `qb` as one page of a listing ordered by `(createdAt, id)` in `direction`: after the
 * position of `query.cursor` (from {@link encodeKeysetCursor}; 400 when malformed), `query.limit`
 * rows (default {@link DEFAULT_PAGE_SIZE}). It fetches one row more than the page to tell whether a
 * next page exists. Values reach SQL as bind parameters.
 */
export async function findKeysetPage<T extends ObjectLiteral & KeysetCursor>(
  qb: SelectQueryBuilder<T>,
  alias: string,
  direction: 'ASC' | 'DESC',
  query: KeysetPageQuery,
): Promise<KeysetPage<T>> {
  const limit = query.limit ?? DEFAULT_PAGE_SIZE;
  qb.orderBy(`${alias}.createdAt`, direction)
    .addOrderBy(`${alias}.id`, direction)
    .limit(limit + 1);
  if (query.cursor !== undefined) {
    const after = decodeKeysetCursor(query.cursor);
    qb.andWhere(
      `(${alias}.createdAt, ${alias}.id) ${direction === 'ASC' ? '>' : '<'} (CAST(:keysetAt AS timestamptz), CAST(:keysetId AS uuid))`,
      { keysetAt: after.createdAt.toISOString(), keysetId: after.id },
    );
  }
  return pageOf(await qb.getMany(), limit, encodeKeysetCursor);
}

/**
 * The first `limit` of `rows` (fetched as `limit + 1` to tell whether more follow) and the cursor
 * of the next page: `encode` of the page's last row, or null when `rows` held no more.
 */
export function pageOf<T>(rows: T[], limit: number, encode: (last: T) => string): KeysetPage<T> {
  const page = rows.slice(0, limit);
  return { page, nextCursor: rows.length > limit ? encode(page[page.length - 1]) : null };
}
