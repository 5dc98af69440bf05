import { Query, Resolver } from '@nestjs/graphql';
import { CurrentTenant, TenantContext, TenantScoped } from '@app/tenancy';
import { ReportsService } from '../reports/reports.service';
import { PipelineModel } from './sales.models';

/** Reports over GraphQL, each over the deals the caller may see. */
@TenantScoped()
@Resolver()
export class ReportsResolver {
  constructor(private readonly reports: ReportsService) {}

  /** Count and total amount per stage, every stage in pipeline order. */
  @Query(() => PipelineModel)
  pipeline(@CurrentTenant() ctx: TenantContext): Promise<PipelineModel> {
    return this.reports.pipeline(ctx);
  }
}
