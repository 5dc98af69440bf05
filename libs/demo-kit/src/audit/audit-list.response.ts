import { ApiProperty } from '@nestjs/swagger';
import { AuditEntryResponse } from './audit-entry.response';

/** Body of `GET /audit`: the tenant's audit entries, oldest first. */
export class AuditListResponse {
  @ApiProperty({ type: [AuditEntryResponse] })
  items: AuditEntryResponse[];
}
