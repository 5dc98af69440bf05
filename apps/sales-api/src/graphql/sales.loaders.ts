import { Injectable } from '@nestjs/common';
import DataLoader from 'dataloader';
import { TenantContextService } from '@app/tenancy';
import { Account } from '../accounts/account.entity';
import { AccountsService } from '../accounts/accounts.service';
import { Deal } from '../deals/deal.entity';
import { DealsService } from '../deals/deals.service';

/** The DataLoaders of one GraphQL request (made by {@link SalesLoaderFactory} for its context). */
export interface SalesLoaders {
  /** Accounts by id, one query per batch; null for an id the caller's tenant does not have. */
  account: DataLoader<string, Account | null>;
  /** The deals the caller may see, by account id, one query per batch. */
  dealsOfAccount: DataLoader<string, Deal[]>;
}

/** The GraphQL context of sales-api: the request's loaders. */
export interface SalesGraphQLContext {
  loaders: SalesLoaders;
}

/**
 * Makes each GraphQL request's loaders. Their batches run where the request's field resolvers run,
 * in the request's one tenant transaction, so the row policies filter them like any other query.
 */
@Injectable()
export class SalesLoaderFactory {
  constructor(
    private readonly accounts: AccountsService,
    private readonly deals: DealsService,
    private readonly tenant: TenantContextService,
  ) {}

  create(): SalesLoaders {
    return {
      account: new DataLoader(async (ids) => {
        const found = new Map((await this.accounts.getMany([...ids])).map((a) => [a.id, a]));
        return ids.map((id) => found.get(id) ?? null);
      }),
      dealsOfAccount: new DataLoader(async (ids) => {
        const deals = await this.deals.listOfAccounts(this.tenant.require(), [...ids]);
        return ids.map((id) => deals.filter((d) => d.accountId === id));
      }),
    };
  }
}
