import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { findNamePage, KeysetPage, NamePageQuery } from '@app/demo-kit';
import { TenantContext } from '@app/tenancy';
import { sqlError } from '../common/sql-error';
import { PutTeamMemberDto } from './put-team-member.dto';
import { TeamMember } from './team-member.entity';

/** Constraints that refuse a reporting cycle (migrations 1764000002000 and 1764000013500). */
const CYCLE_CONSTRAINTS = new Set(['team_members_no_cycle', 'team_members_not_own_manager']);

/**
 * What fails when the tree changed between this request's read and its write: a chain no longer
 * the manager's (someone moved meanwhile) or a member created by a concurrent request.
 */
const CONCURRENT_CHANGE = new Set([
  'team_members_manager_chain_fk',
  'deals_owner_chain_fk',
  'team_members_pkey',
]);

/**
 * Moves a member and their whole subtree under a new manager chain (`$3`, null at the top) in one
 * statement: every chain that passes through the member (`$2`) gets the new chain up to the member
 * and keeps its tail, in team_members and in deals. The foreign keys that hold each chain equal to
 * its manager's and each deal's to its owner's are checked at the end of the statement, when all
 * chains agree again.
 */
export const MOVE_SUBTREE = `
  WITH moved AS (
    UPDATE sales.team_members m
       SET manager_chain = CASE WHEN m.user_id = $2 THEN $3::uuid[]
             ELSE (COALESCE($3::uuid[], '{}') || $2::uuid)
                  || m.manager_chain[array_position(m.manager_chain, $2::uuid) + 1 :] END,
           manager_id = CASE WHEN m.user_id = $2 THEN $4::uuid ELSE m.manager_id END,
           name = CASE WHEN m.user_id = $2 THEN $5 ELSE m.name END,
           updated_at = CASE WHEN m.user_id = $2 THEN now() ELSE m.updated_at END
     WHERE m.tenant_id = $1 AND m.chain @> ARRAY[$2::uuid]
  )
  UPDATE sales.deals d
     SET owner_chain = (COALESCE($3::uuid[], '{}') || $2::uuid)
                       || d.owner_chain[array_position(d.owner_chain, $2::uuid) + 1 :]
   WHERE d.tenant_id = $1 AND d.owner_chain @> ARRAY[$2::uuid]`;

/** The reporting tree: members, their managers, and who reports to whom (transitively). */
@Injectable()
export class TeamService {
  constructor(@InjectRepository(TeamMember) private readonly members: Repository<TeamMember>) {}

  /** One page of the caller's tenant's members, by name, after the cursor's position. */
  list(query: NamePageQuery): Promise<KeysetPage<TeamMember>> {
    return findNamePage(this.members.createQueryBuilder('m'), 'm', 'userId', query);
  }

  /** `userId`'s reporting chain (their managers from the top, then them), or null if not a member. */
  async chainOf(userId: string): Promise<string[] | null> {
    const row = await this.members
      .createQueryBuilder('m')
      .select('m.chain', 'chain')
      .where('m.userId = :userId', { userId })
      .getRawOne<{ chain: string[] }>();
    return row?.chain ?? null;
  }

  /**
   * Creates a member, renames one, or moves one under another manager with their whole subtree
   * (chains of members and deals follow in the same statement). 404 when the manager is not a
   * member of the tenant, 409 when the move would make a cycle or the tree changed meanwhile.
   */
  async put(ctx: TenantContext, userId: string, dto: PutTeamMemberDto): Promise<TeamMember> {
    const managerId = dto.managerId?.toLowerCase() ?? null;
    if (managerId === userId) throw this.cycle(userId, managerId);
    let managerChain: string[] | null = null;
    if (managerId !== null) {
      managerChain = await this.chainOf(managerId);
      if (!managerChain)
        throw new NotFoundException(`managerId: team member ${managerId} not found`);
      if (managerChain.includes(userId)) throw this.cycle(userId, managerId);
    }
    try {
      const current = await this.members.findOneBy({ userId });
      if (!current) {
        await this.members.insert({
          tenantId: ctx.tenantId,
          userId,
          name: dto.name,
          managerId,
          managerChain,
        });
      } else if (current.managerId === managerId) {
        await this.members.update({ userId }, { name: dto.name });
      } else {
        await this.members.query(MOVE_SUBTREE, [
          ctx.tenantId,
          userId,
          managerChain,
          managerId,
          dto.name,
        ]);
      }
    } catch (error) {
      const { constraint } = sqlError(error);
      if (constraint && CYCLE_CONSTRAINTS.has(constraint)) throw this.cycle(userId, managerId!);
      if (constraint && CONCURRENT_CHANGE.has(constraint)) {
        throw new ConflictException(
          'the reporting tree changed while this request ran; read it again and retry',
        );
      }
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
