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
import { BaselineQueries } from './baseline-rls';
import { User } from './user.decorator';

/**
 * support-api's ticket routes written by hand: the same DTOs, validation and JSON, plain
 * TypeORM repositories, `WHERE tenant_id = $1` on every query, no transaction for a read. With
 * BaselineConfig's `rls` (never a target's baseline), each route's queries run under RLS by hand
 * instead (BaselineQueries).
 */
@UseGuards(BaselineAuthGuard)
@Controller('tickets')
export class BaselineTicketsController {
  constructor(
    @InjectRepository(Ticket) private readonly tickets: Repository<Ticket>,
    private readonly queries: BaselineQueries,
  ) {}

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
    const saved = this.queries.rls
      ? await this.queries.underRls(user, false, (m) => m.getRepository(Ticket).save(ticket))
      : await this.tickets.save(ticket);
    return TicketResponse.from(saved);
  }

  @Get()
  async list(
    @User() user: BaselineUser,
    @Query() query: ListTicketsQuery,
  ): Promise<TicketPageResponse> {
    requireRole(user, 'agent', 'admin');
    const pageOf = (tickets: Repository<Ticket>) => {
      const qb = tickets
        .createQueryBuilder('t')
        .where('t.tenantId = :tenantId', { tenantId: user.tenantId });
      if (query.status) qb.andWhere('t.status = :status', { status: query.status });
      return findKeysetPage(qb, 't', 'DESC', query);
    };
    const { page, nextCursor } = this.queries.rls
      ? await this.queries.underRls(user, true, (m) => pageOf(m.getRepository(Ticket)))
      : await pageOf(this.tickets);
    return { items: page.map((t) => TicketResponse.from(t)), nextCursor };
  }

  @Get(':id')
  async get(@User() user: BaselineUser, @Param() params: IdParams): Promise<TicketResponse> {
    requireRole(user, 'agent', 'admin');
    const where = { tenantId: user.tenantId, id: params.id };
    const ticket = this.queries.rls
      ? await this.queries.underRls(user, true, (m) => m.getRepository(Ticket).findOneBy(where))
      : await this.tickets.findOneBy(where);
    if (!ticket) throw new NotFoundException('ticket not found');
    return TicketResponse.from(ticket);
  }
}
