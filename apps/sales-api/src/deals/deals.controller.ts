import { Body, Controller, Delete, Get, HttpCode, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentTenant, Roles, TenantContext, TenantReadOnly, TenantScoped } from '@app/tenancy';
import { UuidParam } from '../common/uuid-param.decorator';
import { CreateDealDto } from './create-deal.dto';
import { DealListResponse, DealResponse } from './deal.response';
import { DealsService } from './deals.service';
import { ListDealsQuery } from './list-deals.query';
import { UpdateDealDto } from './update-deal.dto';

/** Deals: each caller sees and changes their own, their reports' (managers) or all (admins). */
@ApiTags('deals')
@ApiBearerAuth()
@TenantScoped()
@Controller('deals')
export class DealsController {
  constructor(private readonly deals: DealsService) {}

  @Post()
  @ApiCreatedResponse({ type: DealResponse })
  async create(
    @CurrentTenant() ctx: TenantContext,
    @Body() dto: CreateDealDto,
  ): Promise<DealResponse> {
    return DealResponse.from(await this.deals.create(ctx, dto));
  }

  @Get()
  @TenantReadOnly()
  @ApiOkResponse({ type: DealListResponse })
  async list(
    @CurrentTenant() ctx: TenantContext,
    @Query() query: ListDealsQuery,
  ): Promise<DealListResponse> {
    const { page, nextCursor } = await this.deals.list(ctx, query);
    return { items: page.map((d) => DealResponse.from(d)), nextCursor };
  }

  @Get(':id')
  @TenantReadOnly()
  @ApiOkResponse({ type: DealResponse })
  async get(@UuidParam('id') id: string): Promise<DealResponse> {
    return DealResponse.from(await this.deals.get(id));
  }

  @Patch(':id')
  @ApiOkResponse({ type: DealResponse })
  async update(@UuidParam('id') id: string, @Body() dto: UpdateDealDto): Promise<DealResponse> {
    return DealResponse.from(await this.deals.update(id, dto));
  }

  @Delete(':id')
  @Roles('admin')
  @HttpCode(204)
  @ApiNoContentResponse()
  async remove(@UuidParam('id') id: string): Promise<void> {
    await this.deals.remove(id);
  }
}
