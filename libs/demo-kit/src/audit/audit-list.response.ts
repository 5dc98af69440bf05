import { ApiProperty } from '@nestjs/swagger';
import { AuditEntryResponse } from './audit-entry.response';

/** Body of `GET /audit`: the tenant's audit entries, oldest first by `(occurredAt, id)`. */
export class AuditListResponse {
  @ApiProperty({ type: [AuditEntryResponse] })
  items: AuditEntryResponse[];
}
