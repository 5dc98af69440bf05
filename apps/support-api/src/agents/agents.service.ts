import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { DEFAULT_PAGE_SIZE, pageOf } from '@app/demo-kit';
import { TenantContext } from '@app/tenancy';
import { Agent } from './agent.entity';
import { AgentPageResponse } from './dto/agent-page.response';
import { AgentResponse } from './dto/agent.response';
import { ListAgentsQuery } from './dto/list-agents.query';

/**
 * Unassigns an agent's tickets, as the foreign key's `ON DELETE SET NULL (assignee_id)` did before
 * migration 1764000013600 (Citus refuses that action): `updated_at` stays. Row-level security keeps
 * it to the caller's tenant.
 */
const UNASSIGN_TICKETS = `UPDATE support.tickets SET assignee_id = NULL WHERE assignee_id = $1`;

/** The current tenant's agents; row-level security decides which rows exist. */
@Injectable()
export class AgentsService {
  constructor(@InjectRepository(Agent) private readonly agents: Repository<Agent>) {}

  /** One page of agents by user id, after the cursor's. */
  async list(query: ListAgentsQuery): Promise<AgentPageResponse> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const qb = this.agents
      .createQueryBuilder('a')
      .orderBy('a.userId')
      .limit(limit + 1);
    if (query.cursor) qb.where('a.userId > :after', { after: query.cursor.toLowerCase() });
    const { page, nextCursor } = pageOf(await qb.getMany(), limit, (last) => last.userId);
    return { items: page.map((a) => AgentResponse.from(a)), nextCursor };
  }

  /** Makes `userId` an agent of the caller's tenant (nothing changes if they are one). */
  async put(context: TenantContext, userId: string): Promise<AgentResponse> {
    const id = userId.toLowerCase();
    await this.agents
      .createQueryBuilder()
      .insert()
      .into(Agent)
      .values({ tenantId: context.tenantId, userId: id })
      .orIgnore()
      .execute();
    return AgentResponse.from(await this.agents.findOneByOrFail({ userId: id }));
  }

  /**
   * Removes an agent, or 404; the tickets assigned to them become unassigned first, in the same
   * transaction (the assignee's foreign key refuses to remove an agent who still has tickets). The
   * agent's row is locked before, so that no ticket can be assigned to them in between.
   */
  async remove(userId: string): Promise<void> {
    const id = userId.toLowerCase();
    const agent = await this.agents.findOne({
      where: { userId: id },
      lock: { mode: 'pessimistic_write' },
    });
    if (!agent) throw new NotFoundException('agent not found');
    await this.agents.query(UNASSIGN_TICKETS, [id]);
    await this.agents.delete({ userId: id });
  }
}
