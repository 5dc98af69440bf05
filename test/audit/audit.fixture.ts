import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { AuditEntry } from '@app/tenancy';

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
