import { BadRequestException, Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AuditLogService, Roles, TenantScoped, UnknownAuditEntryError } from '@app/tenancy';
import { AuditListResponse } from './audit-list.response';
import { AuditQueryDto } from './audit-query.dto';

/**
 * `GET /audit`: the tenant's audit trail, oldest first, admins only (query validated by
 * configureHttpApp's pipe); the next page is `after=<id of the last entry>`, unknown ids are a 400.
 */
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
    try {
      const items = await this.audit.list({
        table: query.table,
        since: query.since === undefined ? undefined : new Date(query.since),
        after: query.after,
        limit: query.limit,
      });
      return { items };
    } catch (error) {
      if (error instanceof UnknownAuditEntryError)
        throw new BadRequestException('after must be the id of an entry of this audit log');
      throw error;
    }
  }
}
