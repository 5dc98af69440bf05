import { BadRequestException } from '@nestjs/common';
import { isUUID } from 'class-validator';
import { ObjectLiteral, SelectQueryBuilder } from 'typeorm';

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

/** Decodes a cursor made by {@link encodeKeysetCursor}; anything else is a 400. */
export function decodeKeysetCursor(value: string): KeysetCursor {
  const [at, id, ...rest] = Buffer.from(value, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at);
  const canonical = !Number.isNaN(createdAt.getTime()) && createdAt.toISOString() === at;
  if (rest.length || !canonical || !isUUID(id, 'all')) {
    throw new BadRequestException('cursor is malformed');
  }
  return { createdAt, id };
}

/**
 * Orders a query by `(createdAt, id)` in `direction`, starts it after the position of `cursor`
 * (a string from {@link encodeKeysetCursor}; 400 when malformed) and fetches `limit + 1` rows, the
 * one extra telling {@link keysetPage} whether a next page exists. Values are bind parameters.
 */
export function keysetQuery<T extends ObjectLiteral>(
  qb: SelectQueryBuilder<T>,
  alias: string,
  direction: 'ASC' | 'DESC',
  limit: number,
  cursor?: string,
): SelectQueryBuilder<T> {
  qb.orderBy(`${alias}.createdAt`, direction)
    .addOrderBy(`${alias}.id`, direction)
    .limit(limit + 1);
  if (cursor !== undefined) {
    const after = decodeKeysetCursor(cursor);
    qb.andWhere(
      `(${alias}.createdAt, ${alias}.id) ${direction === 'ASC' ? '>' : '<'} (CAST(:keysetAt AS timestamptz), CAST(:keysetId AS uuid))`,
      { keysetAt: after.createdAt.toISOString(), keysetId: after.id },
    );
  }
  return qb;
}

/** The first `limit` rows of a {@link keysetQuery} result, and the cursor of the next page (or null). */
export function keysetPage<T extends KeysetCursor>(
  rows: T[],
  limit: number,
): { page: T[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  return {
    page,
    nextCursor: rows.length > limit ? encodeKeysetCursor(page[page.length - 1]) : null,
  };
}
