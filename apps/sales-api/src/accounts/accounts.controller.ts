import { Body, Controller, Delete, Get, HttpCode, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import { NamePageQuery } from '@app/demo-kit';
import { CurrentTenant, Roles, TenantContext, TenantReadOnly, TenantScoped } from '@app/tenancy';
import { UuidParam } from '../common/uuid-param.decorator';
import { AccountListResponse, AccountResponse } from './account.response';
import { AccountsService } from './accounts.service';
import { CreateAccountDto } from './create-account.dto';

/** Accounts: every role reads and creates them, admins delete them (with their deals). */
@ApiTags('accounts')
@ApiBearerAuth()
@TenantScoped()
@Controller('accounts')
export class AccountsController {
  constructor(private readonly accounts: AccountsService) {}

  @Post()
  @ApiCreatedResponse({ type: AccountResponse })
  async create(
    @CurrentTenant() ctx: TenantContext,
    @Body() dto: CreateAccountDto,
  ): Promise<AccountResponse> {
    return AccountResponse.from(await this.accounts.create(ctx, dto));
  }

  @Get()
  @TenantReadOnly()
  @ApiOkResponse({ type: AccountListResponse })
  async list(@Query() query: NamePageQuery): Promise<AccountListResponse> {
    const { page, nextCursor } = await this.accounts.list(query);
    return { items: page.map((a) => AccountResponse.from(a)), nextCursor };
  }

  @Get(':id')
  @TenantReadOnly()
  @ApiOkResponse({ type: AccountResponse })
  async get(@UuidParam('id') id: string): Promise<AccountResponse> {
    return AccountResponse.from(await this.accounts.get(id));
  }

  @Delete(':id')
  @Roles('admin')
  @HttpCode(204)
  @ApiNoContentResponse()
  async remove(@UuidParam('id') id: string): Promise<void> {
    await this.accounts.remove(id);
  }
}
