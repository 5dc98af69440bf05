import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { Repository } from 'typeorm';
import { findKeysetPage } from '@app/demo-kit';
import { TenantContext } from '@app/tenancy';
import { isConstraintViolation } from '../common/constraint-violation';
import { CreateTicketDto } from './dto/create-ticket.dto';
import { ListTicketsQuery } from './dto/list-tickets.query';
import { TicketPageResponse } from './dto/ticket-page.response';
import { TicketResponse } from './dto/ticket.response';
import { UpdateTicketDto } from './dto/update-ticket.dto';
import { Ticket } from './ticket.entity';

/** SQLSTATE of a foreign key violation. */
const FOREIGN_KEY_VIOLATION = '23503';
/** The foreign key from a ticket's assignee to the tenant's agents (migration 1764000013000). */
const ASSIGNEE_MUST_BE_AGENT = 'tickets_assignee_agent_fkey';

/** Tickets of the current tenant; row-level security decides which rows exist. */
@Injectable()
export class TicketsService {
  constructor(@InjectRepository(Ticket) private readonly tickets: Repository<Ticket>) {}

  /** Opens a ticket requested by the caller. */
  async create(context: TenantContext, dto: CreateTicketDto): Promise<TicketResponse> {
    const ticket = this.tickets.create({
      tenantId: context.tenantId,
      id: randomUUID(),
      subject: dto.subject,
      description: dto.description ?? null,
      status: 'open',
      priority: dto.priority ?? 'normal',
      requesterId: context.userId,
      assigneeId: null,
    });
    return TicketResponse.from(await this.tickets.save(ticket));
  }

  /**
   * One page, newest first, after the cursor's position when one is given. Row-level security
   * decides the rows; the query names the tenant as well only so that the planner sees which one
   * (the policy reads it once per statement, hidden from its statistics) and reads a large
   * tenant's page in index order instead of sorting all its tickets.
   */
  async list(context: TenantContext, query: ListTicketsQuery): Promise<TicketPageResponse> {
    const qb = this.tickets
      .createQueryBuilder('t')
      .where('t.tenantId = :tenantId', { tenantId: context.tenantId });
    if (query.status) qb.andWhere('t.status = :status', { status: query.status });
    const { page, nextCursor } = await findKeysetPage(qb, 't', 'DESC', query);
    return { items: page.map((t) => TicketResponse.from(t)), nextCursor };
  }

  /** A visible ticket, or 404. */
  async get(id: string): Promise<TicketResponse> {
    return TicketResponse.from(await this.find(id));
  }

  /**
   * Changes the given fields of a visible ticket, or 404; 400 when `assigneeId` is not an agent of
   * the tenant (the database's foreign key decides, so another tenant's user never passes).
   */
  async update(id: string, dto: UpdateTicketDto): Promise<TicketResponse> {
    const ticket = await this.find(id);
    Object.assign(ticket, dto);
    if (dto.assigneeId) ticket.assigneeId = dto.assigneeId.toLowerCase();
    try {
      return TicketResponse.from(await this.tickets.save(ticket));
    } catch (error) {
      if (isConstraintViolation(error, FOREIGN_KEY_VIOLATION, ASSIGNEE_MUST_BE_AGENT)) {
        throw new BadRequestException(
          'assigneeId must be an agent of this tenant (an admin adds one with PUT /agents/:userId)',
        );
      }
      throw error;
    }
  }

  /** Deletes a visible ticket (and its comments), or 404. */
  async remove(id: string): Promise<void> {
    const result = await this.tickets.delete({ id });
    if (!result.affected) throw ticketNotFound();
  }

  /** Throws 404 unless the ticket is visible to the current tenant. */
  async assertExists(id: string): Promise<void> {
    if (!(await this.tickets.existsBy({ id }))) throw ticketNotFound();
  }

  private async find(id: string): Promise<Ticket> {
    const ticket = await this.tickets.findOneBy({ id });
    if (!ticket) throw ticketNotFound();
    return ticket;
  }
}

function ticketNotFound(): NotFoundException {
  return new NotFoundException('ticket not found');
}
