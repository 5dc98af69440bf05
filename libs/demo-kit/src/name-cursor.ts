import { BadRequestException } from '@nestjs/common';
import { isUUID } from 'class-validator';
import { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { KeysetPage, pageOf } from './keyset-cursor';
import { DEFAULT_PAGE_SIZE, NamePageQuery } from './keyset-page.query';

/** A row's position in a listing ordered by `(name, id)`, ascending. */
export interface NameCursor {
  name: string;
  id: string;
}

/** Encodes a position as an opaque string (base64url of `id|name`: a name may hold `|`). */
export function encodeNameCursor(cursor: NameCursor): string {
  return Buffer.from(`${cursor.id}|${cursor.name}`).toString('base64url');
}

/**
 * Decodes a cursor made by {@link encodeNameCursor}; anything else (including bytes that are not
 * UTF-8, a NUL, which no PostgreSQL text holds, or a non-canonical base64url spelling) is a 400.
 */
export function decodeNameCursor(value: string): NameCursor {
  const text = Buffer.from(value, 'base64url').toString('utf8');
  const id = text.slice(0, 36);
  const name = text.slice(37);
  const cursor = { id, name };
  const canonical = encodeNameCursor(cursor) === value;
  if (text[36] !== '|' || !isUUID(id, 'all') || !name || name.includes('\0') || !canonical) {
    throw new BadRequestException('cursor is malformed');
  }
  return cursor;
}

/**
 * Runs `qb` as one page of a listing ordered by `(name, <idProperty>)` ascending, in the name
 * column's collation: after the position of `query.cursor` (400 when malformed), `query.limit`
 * rows (default {@link DEFAULT_PAGE_SIZE}). Values reach SQL as bind parameters.
 */
export async function findNamePage<T extends ObjectLiteral & { name: string }>(
  qb: SelectQueryBuilder<T>,
  alias: string,
  idProperty: keyof T & string,
  query: NamePageQuery,
): Promise<KeysetPage<T>> {
  const limit = query.limit ?? DEFAULT_PAGE_SIZE;
  qb.orderBy(`${alias}.name`, 'ASC')
    .addOrderBy(`${alias}.${idProperty}`, 'ASC')
    .limit(limit + 1);
  if (query.cursor !== undefined) {
    const after = decodeNameCursor(query.cursor);
    qb.andWhere(
      `(${alias}.name, ${alias}.${idProperty}) > (CAST(:keysetName AS text), CAST(:keysetId AS uuid))`,
      { keysetName: after.name, keysetId: after.id },
    );
  }
  return pageOf(await qb.getMany(), limit, (last) =>
    encodeNameCursor({ name: last.name, id: String(last[idProperty]) }),
  );
}
