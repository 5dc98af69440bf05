import {
  ConflictException,
  ForbiddenException,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { InsertResult, Repository } from 'typeorm';
import { findKeysetPage, KeysetPage } from '@app/demo-kit';
import { TenantContext } from '@app/tenancy';
import { AccountsService } from '../accounts/accounts.service';
import { sqlError } from '../common/sql-error';
import { TeamService } from '../team/team.service';
import { CreateDealDto } from './create-deal.dto';
import { callerDealsQuery } from './deal-scope';
import { Deal } from './deal.entity';
import { ListDealsQuery } from './list-deals.query';
import { UpdateDealDto } from './update-deal.dto';

/** The foreign key that holds a deal's owner_chain equal to its owner's (migration 1764000013500). */
const OWNER_CHAIN = 'deals_owner_chain_fk';

/**
 * Deals of the caller's tenant. Which deals a caller sees and changes is decided by the row
 * policies (owner, reporting subtree, admin); the checks here only give clearer errors first.
 */
@Injectable()
export class DealsService {
  constructor(
    @InjectRepository(Deal) private readonly deals: Repository<Deal>,
    private readonly accounts: AccountsService,
    private readonly team: TeamService,
  ) {}

  /**
   * Creates a deal; 404 for an account or owner not in the tenant, 403 for a team member the
   * caller may not assign (a rep: anyone else; a manager: anyone outside their subtree).
   */
  async create(ctx: TenantContext, dto: CreateDealDto): Promise<Deal> {
    if (!(await this.accounts.exists(dto.accountId))) {
      throw new NotFoundException(`accountId: account ${dto.accountId} not found`);
    }
    const ownerId = (dto.ownerId ?? ctx.userId).toLowerCase();
    const ownerChain = await this.chainOfAssignable(ctx, ownerId);
    let result: InsertResult;
    try {
      result = await this.deals.insert({
        tenantId: ctx.tenantId,
        accountId: dto.accountId,
        title: dto.title,
        amount: dto.amount,
        stage: dto.stage ?? 'prospecting',
        ownerId,
        ownerChain,
      });
    } catch (error) {
      if (sqlError(error).constraint === OWNER_CHAIN) {
        throw new ConflictException(
          `ownerId: ${ownerId} moved in the reporting tree while this request ran; retry`,
        );
      }
      throw error;
    }
    return this.get(result.identifiers[0].id as string);
  }

  /**
   * One page of the deals the caller may see, oldest first, optionally of one stage. The row
   * policies decide which deals; what the query names is there for the planner (see
   * {@link callerDealsQuery}).
   */
  list(ctx: TenantContext, query: ListDealsQuery): Promise<KeysetPage<Deal>> {
    const qb = callerDealsQuery(this.deals, 'd', ctx);
    if (query.stage) qb.andWhere('d.stage = :stage', { stage: query.stage });
    return findKeysetPage(qb, 'd', 'ASC', query);
  }

  /**
   * The deals the caller may see of these accounts, oldest first (one query; for DataLoader
   * batches). The row policies decide which deals, as for {@link list}.
   */
  listOfAccounts(ctx: TenantContext, accountIds: string[]): Promise<Deal[]> {
    if (!accountIds.length) return Promise.resolve([]);
    return callerDealsQuery(this.deals, 'd', ctx)
      .andWhere('d.accountId IN (:...accountIds)', { accountIds })
      .orderBy('d.createdAt', 'ASC')
      .addOrderBy('d.id', 'ASC')
      .getMany();
  }

  /** One deal; 404 when the caller may not see it. */
  async get(id: string): Promise<Deal> {
    const deal = await this.deals.findOneBy({ id });
    if (!deal) throw new NotFoundException(`deal ${id} not found`);
    return deal;
  }

  /** Changes title, amount or stage of a deal the caller may see; 404 otherwise. */
  async update(id: string, dto: UpdateDealDto): Promise<Deal> {
    await this.get(id);
    const changes: Partial<Deal> = {};
    if (dto.title !== undefined) changes.title = dto.title;
    if (dto.amount !== undefined) changes.amount = dto.amount;
    if (dto.stage !== undefined) changes.stage = dto.stage;
    if (Object.keys(changes).length) await this.deals.update({ id }, changes);
    return this.get(id);
  }

  /** Deletes a deal (admins only, by policy too); 404 when not found. */
  async remove(id: string): Promise<void> {
    const result = await this.deals.delete({ id });
    if (!result.affected) throw new NotFoundException(`deal ${id} not found`);
  }

  /**
   * The reporting chain of a team member the caller may assign a deal to (a deal carries its
   * owner's chain); 404 when not a member, 403 when the caller may not assign them.
   */
  private async chainOfAssignable(ctx: TenantContext, ownerId: string): Promise<string[]> {
    const chain = await this.team.chainOf(ownerId);
    if (!chain) throw new NotFoundException(`ownerId: team member ${ownerId} not found`);
    const allowed =
      ctx.role === 'admin' ||
      ownerId === ctx.userId ||
      (ctx.role === 'manager' && chain.includes(ctx.userId));
    if (!allowed) {
      throw new ForbiddenException(
        `ownerId: a ${ctx.role} may assign deals only to themselves${ctx.role === 'manager' ? ' or the people below them' : ''}`,
      );
    }
    return chain;
  }
}
