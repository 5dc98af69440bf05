import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentTenant, Roles, TenantContext, TenantReadOnly, TenantScoped } from '@app/tenancy';
import { IdParams } from '../common/id-params.dto';
import { CreateTicketDto } from './dto/create-ticket.dto';
import { ListTicketsQuery } from './dto/list-tickets.query';
import { TicketPageResponse } from './dto/ticket-page.response';
import { TicketResponse } from './dto/ticket.response';
import { UpdateTicketDto } from './dto/update-ticket.dto';
import { TicketsService } from './tickets.service';

/** `/tickets`: the tenant's support tickets; agents and admins, deletion for admins only. */
@ApiTags('tickets')
@ApiBearerAuth()
@TenantScoped()
@Roles('agent', 'admin')
@Controller('tickets')
export class TicketsController {
  constructor(private readonly tickets: TicketsService) {}

  @Post()
  @ApiCreatedResponse({ type: TicketResponse })
  create(
    @CurrentTenant() context: TenantContext,
    @Body() dto: CreateTicketDto,
  ): Promise<TicketResponse> {
    return this.tickets.create(context, dto);
  }

  @Get()
  @TenantReadOnly()
  @ApiOkResponse({ type: TicketPageResponse })
  list(
    @CurrentTenant() context: TenantContext,
    @Query() query: ListTicketsQuery,
  ): Promise<TicketPageResponse> {
    return this.tickets.list(context, query);
  }

  @Get(':id')
  @TenantReadOnly()
  @ApiOkResponse({ type: TicketResponse })
  get(@Param() params: IdParams): Promise<TicketResponse> {
    return this.tickets.get(params.id);
  }

  @Patch(':id')
  @ApiOkResponse({ type: TicketResponse })
  update(@Param() params: IdParams, @Body() dto: UpdateTicketDto): Promise<TicketResponse> {
    return this.tickets.update(params.id, dto);
  }

  @Delete(':id')
  @Roles('admin')
  @HttpCode(204)
  @ApiNoContentResponse()
  remove(@Param() params: IdParams): Promise<void> {
    return this.tickets.remove(params.id);
  }
}
