import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { TenantContext } from '@app/tenancy';
import { callerDealsQuery } from '../deals/deal-scope';
import { DEAL_STAGES } from '../deals/deal-stage';
import { Deal } from '../deals/deal.entity';
import { PipelineResponse } from './pipeline.response';

/** Reports over the deals the caller may see (the policies decide which). */
@Injectable()
export class ReportsService {
  constructor(@InjectRepository(Deal) private readonly deals: Repository<Deal>) {}

  /** Count and total amount per stage (what the query names is there for the planner: callerDealsQuery). */
  async pipeline(ctx: TenantContext): Promise<PipelineResponse> {
    const rows: { stage: string; count: number; total: string }[] = await callerDealsQuery(
      this.deals,
      'd',
      ctx,
    )
      .select('d.stage', 'stage')
      .addSelect('count(*)::int', 'count')
      .addSelect('sum(d.amount)::text', 'total')
      .groupBy('d.stage')
      .getRawMany();
    const byStage = new Map(rows.map((r) => [r.stage, r]));
    return {
      stages: DEAL_STAGES.map((stage) => ({
        stage,
        count: byStage.get(stage)?.count ?? 0,
        totalAmount: Number(byStage.get(stage)?.total ?? 0),
      })),
    };
  }
}
