import { Controller, Delete, Get, HttpCode, Param, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { CurrentTenant, Roles, TenantContext, TenantReadOnly, TenantScoped } from '@app/tenancy';
import { UserIdParams } from '../common/id-params.dto';
import { AgentsService } from './agents.service';
import { AgentPageResponse } from './dto/agent-page.response';
import { AgentResponse } from './dto/agent.response';
import { ListAgentsQuery } from './dto/list-agents.query';

/** `/agents`: who the tenant's tickets may be assigned to; admins add and remove them. */
@ApiTags('agents')
@ApiBearerAuth()
@TenantScoped()
@Roles('agent', 'admin')
@Controller('agents')
export class AgentsController {
  constructor(private readonly agents: AgentsService) {}

  @Get()
  @TenantReadOnly()
  @ApiOkResponse({ type: AgentPageResponse })
  list(@Query() query: ListAgentsQuery): Promise<AgentPageResponse> {
    return this.agents.list(query);
  }

  @Put(':userId')
  @Roles('admin')
  @ApiOkResponse({ type: AgentResponse })
  put(
    @CurrentTenant() context: TenantContext,
    @Param() params: UserIdParams,
  ): Promise<AgentResponse> {
    return this.agents.put(context, params.userId);
  }

  @Delete(':userId')
  @Roles('admin')
  @HttpCode(204)
  @ApiNoContentResponse()
  remove(@Param() params: UserIdParams): Promise<void> {
    return this.agents.remove(params.userId);
  }
}
