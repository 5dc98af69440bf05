import { BadRequestException } from '@nestjs/common';
import { isUUID } from 'class-validator';

/** The keyset position of a ticket in the newest-first listing. */
export interface TicketCursor {
  createdAt: Date;
  id: string;
}

/** Encodes a position as an opaque string (base64url of `createdAt|id`). */
export function encodeTicketCursor(cursor: TicketCursor): string {
  return Buffer.from(`${cursor.createdAt.toISOString()}|${cursor.id}`).toString('base64url');
}

/** Decodes a cursor made by {@link encodeTicketCursor}; anything else is a 400. */
export function decodeTicketCursor(value: string): TicketCursor {
  const [at, id, ...rest] = Buffer.from(value, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at);
  const canonical = !Number.isNaN(createdAt.getTime()) && createdAt.toISOString() === at;
  if (rest.length || !canonical || !isUUID(id, 'all')) {
    throw new BadRequestException('cursor is malformed');
  }
  return { createdAt, id };
}
