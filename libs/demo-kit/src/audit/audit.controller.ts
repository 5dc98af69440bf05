import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AuditLogService, Roles, TenantScoped } from '@app/tenancy';
import { AuditListResponse } from './audit-list.response';
import { AuditQueryDto } from './audit-query.dto';

/** `GET /audit`: the tenant's audit trail, oldest first, admins only (query validated by configureHttpApp's pipe). */
@ApiTags('audit')
@ApiBearerAuth()
@TenantScoped()
@Roles('admin')
@Controller('audit')
export class AuditController {
  constructor(private readonly audit: AuditLogService) {}

  @Get()
  @ApiOkResponse({ type: AuditListResponse })
  async list(@Query() query: AuditQueryDto): Promise<AuditListResponse> {
    const items = await this.audit.list({
      table: query.table,
      since: query.since === undefined ? undefined : new Date(query.since),
      limit: query.limit,
    });
    return { items };
  }
}
