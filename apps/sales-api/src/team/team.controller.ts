import { Body, Controller, Get, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { NamePageQuery } from '@app/demo-kit';
import { CurrentTenant, Roles, TenantContext, TenantReadOnly, TenantScoped } from '@app/tenancy';
import { UuidParam } from '../common/uuid-param.decorator';
import { PutTeamMemberDto } from './put-team-member.dto';
import { TeamMemberListResponse, TeamMemberResponse } from './team-member.response';
import { TeamService } from './team.service';

/** The reporting tree: every role reads it, admins change it. */
@ApiTags('team')
@ApiBearerAuth()
@TenantScoped()
@Controller('team/members')
export class TeamController {
  constructor(private readonly team: TeamService) {}

  @Get()
  @TenantReadOnly()
  @ApiOkResponse({ type: TeamMemberListResponse })
  async list(@Query() query: NamePageQuery): Promise<TeamMemberListResponse> {
    const { page, nextCursor } = await this.team.list(query);
    return { items: page.map((m) => TeamMemberResponse.from(m)), nextCursor };
  }

  @Put(':userId')
  @Roles('admin')
  @ApiOkResponse({ type: TeamMemberResponse })
  async put(
    @CurrentTenant() ctx: TenantContext,
    @UuidParam('userId') userId: string,
    @Body() dto: PutTeamMemberDto,
  ): Promise<TeamMemberResponse> {
    return TeamMemberResponse.from(await this.team.put(ctx, userId, dto));
  }
}
