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
import { CurrentTenant, TenantContext, TenantScoped } from '@app/tenancy';
import { AccountsService } from '../accounts/accounts.service';
import { UuidPipe } from '../common/uuid.pipe';
import {
  AccountModel,
  AccountPageModel,
  AccountsArgs,
  CreateAccountInput,
  DealModel,
} from './sales.models';
import { SalesGraphQLContext } from './sales.loaders';

/** Accounts over GraphQL: every role reads and creates them, as on REST. */
@TenantScoped()
@Resolver(() => AccountModel)
export class AccountsResolver {
  constructor(private readonly accountsService: AccountsService) {}

  /** One account; NOT_FOUND (and null) when it is not in the caller's tenant. */
  @Query(() => AccountModel, { nullable: true })
  async account(
    @Args('id', { type: () => ID }, new UuidPipe('id')) id: string,
  ): Promise<AccountModel> {
    return AccountModel.from(await this.accountsService.get(id));
  }

  /** One page of the tenant's accounts, by name. */
  @Query(() => AccountPageModel)
  async accounts(@Args() args: AccountsArgs): Promise<AccountPageModel> {
    const { page, nextCursor } = await this.accountsService.list(args);
    return { items: page.map((a) => AccountModel.from(a)), nextCursor };
  }

  /** Creates an account in the caller's tenant. */
  @Mutation(() => AccountModel)
  async createAccount(
    @CurrentTenant() ctx: TenantContext,
    @Args('input') input: CreateAccountInput,
  ): Promise<AccountModel> {
    return AccountModel.from(await this.accountsService.create(ctx, input));
  }

  /** The deals of this account that the caller may see, batched per request. */
  @ResolveField(() => [DealModel])
  async deals(
    @Parent() account: AccountModel,
    @Context() { loaders }: SalesGraphQLContext,
  ): Promise<DealModel[]> {
    return (await loaders.dealsOfAccount.load(account.id)).map((d) => DealModel.from(d));
  }
}
