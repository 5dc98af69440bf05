import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { findKeysetPage } from '@app/demo-kit';
import { Deal } from '../../apps/sales-api/src/deals/deal.entity';
import { DealListResponse, DealResponse } from '../../apps/sales-api/src/deals/deal.response';
import { ListDealsQuery } from '../../apps/sales-api/src/deals/list-deals.query';
import { BaselineAuthGuard, BaselineUser, requireRole } from './baseline-auth.guard';
import { User } from './user.decorator';

/**
 * sales-api's `GET /deals` written by hand: the tenant in the WHERE clause, and the visibility
 * rules in the query: an admin sees every deal, a manager the deals of their subtree (those whose
 * owner chain holds the manager, their own included), a rep their own.
 */
@UseGuards(BaselineAuthGuard)
@Controller('deals')
export class BaselineDealsController {
  constructor(@InjectRepository(Deal) private readonly deals: Repository<Deal>) {}

  @Get()
  async list(
    @User() user: BaselineUser,
    @Query() query: ListDealsQuery,
  ): Promise<DealListResponse> {
    requireRole(user, 'rep', 'manager', 'admin');
    const qb = this.deals
      .createQueryBuilder('d')
      .where('d.tenantId = :tenantId', { tenantId: user.tenantId });
    if (user.role === 'manager') {
      qb.andWhere('d.ownerChain @> ARRAY[:userId]::uuid[]', { userId: user.userId });
    } else if (user.role === 'rep') {
      qb.andWhere('d.ownerId = :userId', { userId: user.userId });
    }
    if (query.stage) qb.andWhere('d.stage = :stage', { stage: query.stage });
    const { page, nextCursor } = await findKeysetPage(qb, 'd', 'ASC', query);
    return { items: page.map((d) => DealResponse.from(d)), nextCursor };
  }
}
