import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import { findNamePage, KeysetPage, NamePageQuery } from '@app/demo-kit';
import { TenantContext } from '@app/tenancy';
import { Account } from './account.entity';
import { CreateAccountDto } from './create-account.dto';

/** Accounts of the caller's tenant. */
@Injectable()
export class AccountsService {
  constructor(@InjectRepository(Account) private readonly accounts: Repository<Account>) {}

  /** Creates an account in the caller's tenant. */
  async create(ctx: TenantContext, dto: CreateAccountDto): Promise<Account> {
    const result = await this.accounts.insert({
      tenantId: ctx.tenantId,
      name: dto.name,
      domain: dto.domain ?? null,
    });
    return this.get(result.identifiers[0].id as string);
  }

  /** One page of the tenant's accounts, by name, after the cursor's position. */
  list(query: NamePageQuery): Promise<KeysetPage<Account>> {
    return findNamePage(this.accounts.createQueryBuilder('a'), 'a', 'id', query);
  }

  /** One account; 404 when it is not in the caller's tenant. */
  async get(id: string): Promise<Account> {
    const account = await this.accounts.findOneBy({ id });
    if (!account) throw new NotFoundException(`account ${id} not found`);
    return account;
  }

  /** The accounts of these ids that are in the caller's tenant (one query; for DataLoader batches). */
  getMany(ids: string[]): Promise<Account[]> {
    return ids.length ? this.accounts.findBy({ id: In(ids) }) : Promise.resolve([]);
  }

  /** Whether the account exists in the caller's tenant. */
  exists(id: string): Promise<boolean> {
    return this.accounts.existsBy({ id });
  }

  /** Deletes an account and, by the foreign key's ON DELETE CASCADE, its deals; 404 when not found. */
  async remove(id: string): Promise<void> {
    const result = await this.accounts.delete({ id });
    if (!result.affected) throw new NotFoundException(`account ${id} not found`);
  }
}
