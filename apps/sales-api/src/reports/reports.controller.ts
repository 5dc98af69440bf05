import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { CurrentTenant, TenantContext, TenantReadOnly, TenantScoped } from '@app/tenancy';
import { PipelineResponse } from './pipeline.response';
import { ReportsService } from './reports.service';

/** Reports, each over the deals the caller may see. */
@ApiTags('reports')
@ApiBearerAuth()
@TenantScoped()
@Controller('reports')
export class ReportsController {
  constructor(private readonly reports: ReportsService) {}

  @Get('pipeline')
  @TenantReadOnly()
  @ApiOkResponse({ type: PipelineResponse })
  pipeline(@CurrentTenant() ctx: TenantContext): Promise<PipelineResponse> {
    return this.reports.pipeline(ctx);
  }
}
