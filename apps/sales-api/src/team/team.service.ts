import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { findNamePage, KeysetPage, NamePageQuery } from '@app/demo-kit';
import { TenantContext } from '@app/tenancy';
import { sqlError } from '../common/sql-error';
import { PutTeamMemberDto } from './put-team-member.dto';
import { ReportingLine } from './reporting-line.entity';
import { TeamMember } from './team-member.entity';

const CYCLE_CONSTRAINTS = new Set(['team_members_no_cycle', 'team_members_not_own_manager']);

/** The reporting tree: members, their managers, and who reports to whom (transitively). */
@Injectable()
export class TeamService {
  constructor(
    @InjectRepository(TeamMember) private readonly members: Repository<TeamMember>,
    @InjectRepository(ReportingLine) private readonly lines: Repository<ReportingLine>,
  ) {}

  /** One page of the caller's tenant's members, by name, after the cursor's position. */
  list(query: NamePageQuery): Promise<KeysetPage<TeamMember>> {
    return findNamePage(this.members.createQueryBuilder('m'), 'm', 'userId', query);
  }

  /** Whether `userId` is a member of the caller's tenant. */
  isMember(userId: string): Promise<boolean> {
    return this.members.existsBy({ userId });
  }

  /** Whether `userId` is `managerId` or reports to them, directly or not. */
  isInSubtree(managerId: string, userId: string): Promise<boolean> {
    return this.lines.existsBy({ ancestorId: managerId, descendantId: userId });
  }

  /**
   * Creates or replaces a member; the closure follows in the same transaction (database triggers).
   * 404 when the manager is not a member of the tenant, 409 when the move would make a cycle.
   */
  async put(ctx: TenantContext, userId: string, dto: PutTeamMemberDto): Promise<TeamMember> {
    const managerId = dto.managerId?.toLowerCase() ?? null;
    if (managerId === userId) throw this.cycle(userId, managerId);
    if (managerId !== null && !(await this.isMember(managerId))) {
      throw new NotFoundException(`managerId: team member ${managerId} not found`);
    }
    try {
      await this.members
        .createQueryBuilder()
        .insert()
        .into(TeamMember)
        .values({ tenantId: ctx.tenantId, userId, name: dto.name, managerId })
        .orUpdate(['name', 'manager_id', 'updated_at'], ['tenant_id', 'user_id'])
        .execute();
    } catch (error) {
      const { constraint } = sqlError(error);
      if (constraint && CYCLE_CONSTRAINTS.has(constraint)) throw this.cycle(userId, managerId!);
      throw error;
    }
    return this.members.findOneByOrFail({ userId });
  }

  private cycle(userId: string, managerId: string): ConflictException {
    return new ConflictException(
      `managerId: ${managerId} reports to ${userId} (or is ${userId}), so this would make a reporting cycle`,
    );
  }
}
