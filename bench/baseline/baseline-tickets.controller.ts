import {
  Body,
  Controller,
  Get,
  NotFoundException,
  Param,
  Post,
  Query,
  UseGuards,
} from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { Repository } from 'typeorm';
import { findKeysetPage } from '@app/demo-kit';
import { IdParams } from '../../apps/support-api/src/common/id-params.dto';
import { CreateTicketDto } from '../../apps/support-api/src/tickets/dto/create-ticket.dto';
import { ListTicketsQuery } from '../../apps/support-api/src/tickets/dto/list-tickets.query';
import { TicketPageResponse } from '../../apps/support-api/src/tickets/dto/ticket-page.response';
import { TicketResponse } from '../../apps/support-api/src/tickets/dto/ticket.response';
import { Ticket } from '../../apps/support-api/src/tickets/ticket.entity';
import { BaselineAuthGuard, BaselineUser, requireRole } from './baseline-auth.guard';
import { User } from './user.decorator';

/**
 * support-api's ticket routes written by hand: the same DTOs, validation and JSON, plain
 * TypeORM repositories, `WHERE tenant_id = $1` on every query, no transaction for a read.
 */
@UseGuards(BaselineAuthGuard)
@Controller('tickets')
export class BaselineTicketsController {
  constructor(@InjectRepository(Ticket) private readonly tickets: Repository<Ticket>) {}

  @Post()
  async create(@User() user: BaselineUser, @Body() dto: CreateTicketDto): Promise<TicketResponse> {
    requireRole(user, 'agent', 'admin');
    const ticket = this.tickets.create({
      tenantId: user.tenantId,
      id: randomUUID(),
      subject: dto.subject,
      description: dto.description ?? null,
      status: 'open',
      priority: dto.priority ?? 'normal',
      requesterId: user.userId,
      assigneeId: null,
    });
    return TicketResponse.from(await this.tickets.save(ticket));
  }

  @Get()
  async list(
    @User() user: BaselineUser,
    @Query() query: ListTicketsQuery,
  ): Promise<TicketPageResponse> {
    requireRole(user, 'agent', 'admin');
    const qb = this.tickets
      .createQueryBuilder('t')
      .where('t.tenantId = :tenantId', { tenantId: user.tenantId });
    if (query.status) qb.andWhere('t.status = :status', { status: query.status });
    const { page, nextCursor } = await findKeysetPage(qb, 't', 'DESC', query);
    return { items: page.map((t) => TicketResponse.from(t)), nextCursor };
  }

  @Get(':id')
  async get(@User() user: BaselineUser, @Param() params: IdParams): Promise<TicketResponse> {
    requireRole(user, 'agent', 'admin');
    const ticket = await this.tickets.findOneBy({ tenantId: user.tenantId, id: params.id });
    if (!ticket) throw new NotFoundException('ticket not found');
    return TicketResponse.from(ticket);
  }
}
