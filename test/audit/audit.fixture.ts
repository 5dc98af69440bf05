import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { AuditEntry } from '@app/tenancy';

/** A random (version 4) uuid, as opaque audit entry ids are. */
export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The fields of an entry `GET /audit` returns (and documents), sorted. */
export const AUDIT_ENTRY_FIELDS = [
  'action',
  'actorId',
  'actorRole',
  'changes',
  'id',
  'key',
  'occurredAt',
  'requestId',
  'table',
];

/** A request id unique to this run, for the `x-request-id` header: `label-<random>`. */
export function requestId(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/** `GET /audit` with a bearer token and an optional raw query string (`table=...&limit=...`). */
export function getAudit(app: INestApplication, token: string, query = ''): request.Test {
  return request(app.getHttpServer())
    .get(`/audit${query ? `?${query}` : ''}`)
    .set('Authorization', `Bearer ${token}`);
}

/** The entries `GET /audit` returns for an admin (fails the test on any other status). */
export async function auditEntries(
  app: INestApplication,
  token: string,
  query = 'limit=1000',
): Promise<AuditEntry[]> {
  const res = await getAudit(app, token, query);
  expect(res.status).toBe(200);
  expect(Object.keys(res.body)).toEqual(['items']);
  return res.body.items as AuditEntry[];
}

/** Every changed column name of an entry, sorted. */
export function changedColumns(entry: AuditEntry): string[] {
  return Object.keys(entry.changes).sort();
}

/** Milliseconds of a timestamp as PostgreSQL's to_jsonb writes it (or as the API writes it). */
export function ms(value: unknown): number {
  return new Date(value as string).getTime();
}
