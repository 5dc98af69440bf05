import {
  ArgsType,
  Field,
  Float,
  ID,
  InputType,
  Int,
  ObjectType,
  registerEnumType,
} from '@nestjs/graphql';
import { NamePageQuery } from '@app/demo-kit';
import { Account } from '../accounts/account.entity';
import { CreateAccountDto } from '../accounts/create-account.dto';
import { DEAL_STAGES, DealStage } from '../deals/deal-stage';
import { Deal } from '../deals/deal.entity';
import { ListDealsQuery } from '../deals/list-deals.query';
import { UpdateDealDto } from '../deals/update-deal.dto';

/** The deal stages as a GraphQL enum (the same names as REST). */
export const DealStageValues = Object.fromEntries(DEAL_STAGES.map((s) => [s, s])) as Record<
  DealStage,
  DealStage
>;
registerEnumType(DealStageValues, { name: 'DealStage' });

/** A deal as GraphQL returns it; `account` is resolved by a field resolver (batched). */
@ObjectType('Deal')
export class DealModel {
  @Field(() => ID) id: string;
  @Field(() => ID) accountId: string;
  @Field() title: string;
  @Field(() => Float) amount: number;
  @Field(() => DealStageValues) stage: DealStage;
  @Field(() => ID) ownerId: string;
  @Field() createdAt: string;
  @Field() updatedAt: string;

  static from(deal: Deal): DealModel {
    return Object.assign(new DealModel(), {
      id: deal.id,
      accountId: deal.accountId,
      title: deal.title,
      amount: deal.amount,
      stage: deal.stage,
      ownerId: deal.ownerId,
      createdAt: deal.createdAt.toISOString(),
      updatedAt: deal.updatedAt.toISOString(),
    });
  }
}

/** An account as GraphQL returns it; `deals` is resolved by a field resolver (batched). */
@ObjectType('Account')
export class AccountModel {
  @Field(() => ID) id: string;
  @Field() name: string;
  @Field(() => String, { nullable: true }) domain: string | null;
  @Field() createdAt: string;

  static from(account: Account): AccountModel {
    return Object.assign(new AccountModel(), {
      id: account.id,
      name: account.name,
      domain: account.domain,
      createdAt: account.createdAt.toISOString(),
    });
  }
}

/** One page of deals, oldest first; `nextCursor` is null on the last page. */
@ObjectType('DealPage')
export class DealPageModel {
  @Field(() => [DealModel]) items: DealModel[];
  @Field(() => String, { nullable: true }) nextCursor: string | null;
}

/** One page of accounts, by name; `nextCursor` is null on the last page. */
@ObjectType('AccountPage')
export class AccountPageModel {
  @Field(() => [AccountModel]) items: AccountModel[];
  @Field(() => String, { nullable: true }) nextCursor: string | null;
}

/** One stage of the pipeline report. */
@ObjectType('PipelineStage')
export class PipelineStageModel {
  @Field(() => DealStageValues) stage: DealStage;
  @Field(() => Int) count: number;
  @Field(() => Float) totalAmount: number;
}

/** The pipeline report: every stage in pipeline order, zeros included. */
@ObjectType('Pipeline')
export class PipelineModel {
  @Field(() => [PipelineStageModel]) stages: PipelineStageModel[];
}

/** Input of `createAccount`: the REST body's fields and checks. */
@InputType()
export class CreateAccountInput extends CreateAccountDto {
  @Field() override name: string;
  @Field(() => String, { nullable: true }) override domain?: string;
}

/** Input of `updateDeal`: the REST body's fields and checks; only the fields given change. */
@InputType()
export class UpdateDealInput extends UpdateDealDto {
  @Field({ nullable: true }) override title?: string;
  @Field(() => Float, { nullable: true }) override amount?: number;
  @Field(() => DealStageValues, { nullable: true }) override stage?: DealStage;
}

/** Arguments of `deals`: the REST query's stage filter, limit and cursor, with its checks. */
@ArgsType()
export class DealsArgs extends ListDealsQuery {
  @Field(() => DealStageValues, { nullable: true }) override stage?: DealStage;
  @Field(() => Int, { nullable: true }) override limit?: number;
  @Field({ nullable: true }) override cursor?: string;
}

/** Arguments of `accounts`: the REST query's limit and cursor, with its checks. */
@ArgsType()
export class AccountsArgs extends NamePageQuery {
  @Field(() => Int, { nullable: true }) override limit?: number;
  @Field({ nullable: true }) override cursor?: string;
}
