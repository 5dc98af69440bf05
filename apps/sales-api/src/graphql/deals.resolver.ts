import {
  Args,
  Context,
  ID,
  Mutation,
  Parent,
  Query,
  ResolveField,
  Resolver,
} from '@nestjs/graphql';
import { CurrentTenant, Roles, TenantContext, TenantScoped } from '@app/tenancy';
import { UuidPipe } from '../common/uuid.pipe';
import { DealsService } from '../deals/deals.service';
import { AccountModel, DealModel, DealPageModel, DealsArgs, UpdateDealInput } from './sales.models';
import { SalesGraphQLContext } from './sales.loaders';

/** Deals over GraphQL: the REST API's service, scope and rules, in the request's one transaction. */
@TenantScoped()
@Resolver(() => DealModel)
export class DealsResolver {
  constructor(private readonly dealsService: DealsService) {}

  /** One deal; NOT_FOUND (and null) when the caller may not see it. */
  @Query(() => DealModel, { nullable: true })
  async deal(@Args('id', { type: () => ID }, new UuidPipe('id')) id: string): Promise<DealModel> {
    return DealModel.from(await this.dealsService.get(id));
  }

  /** One page of the deals the caller may see, oldest first. */
  @Query(() => DealPageModel)
  async deals(
    @CurrentTenant() ctx: TenantContext,
    @Args() args: DealsArgs,
  ): Promise<DealPageModel> {
    const { page, nextCursor } = await this.dealsService.list(ctx, args);
    return { items: page.map((d) => DealModel.from(d)), nextCursor };
  }

  /** Changes title, amount or stage of a deal the caller may see. */
  @Mutation(() => DealModel)
  async updateDeal(
    @Args('id', { type: () => ID }, new UuidPipe('id')) id: string,
    @Args('input') input: UpdateDealInput,
  ): Promise<DealModel> {
    return DealModel.from(await this.dealsService.update(id, input));
  }

  /** Deletes a deal (admins only); true when done. */
  @Roles('admin')
  @Mutation(() => Boolean)
  async deleteDeal(
    @Args('id', { type: () => ID }, new UuidPipe('id')) id: string,
  ): Promise<boolean> {
    await this.dealsService.remove(id);
    return true;
  }

  /** The deal's account, batched per request by the account loader. */
  @ResolveField(() => AccountModel, { nullable: true })
  async account(
    @Parent() deal: DealModel,
    @Context() { loaders }: SalesGraphQLContext,
  ): Promise<AccountModel | null> {
    const account = await loaders.account.load(deal.accountId);
    return account && AccountModel.from(account);
  }
}
