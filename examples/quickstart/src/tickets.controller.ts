import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  ParseUUIDPipe,
  Post,
} from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { CurrentTenant, Roles, TenantContext, TenantScoped } from 'nestjs-rls-tenancy';
import { Repository } from 'typeorm';
import { CreateTicketDto } from './create-ticket.dto';
import { Ticket } from './ticket.entity';

@TenantScoped()
@Controller('tickets')
export class TicketsController {
  constructor(@InjectRepository(Ticket) private readonly tickets: Repository<Ticket>) {}

  @Get()
  list() {
    return this.tickets.find({ order: { subject: 'ASC' } }); // only the caller's tenant's rows
  }

  @Get(':id')
  async one(@Param('id', ParseUUIDPipe) id: string) {
    const ticket = await this.tickets.findOneBy({ id }); // another tenant's id finds nothing
    if (!ticket) throw new NotFoundException('ticket not found');
    return ticket;
  }

  @Post()
  create(@CurrentTenant() ctx: TenantContext, @Body() dto: CreateTicketDto) {
    return this.tickets.save({
      subject: dto.subject,
      tenantId: ctx.tenantId,
      requesterId: ctx.userId,
    });
  }

  @Delete(':id')
  @Roles('admin')
  @HttpCode(204)
  async remove(@Param('id', ParseUUIDPipe) id: string) {
    const { affected } = await this.tickets.delete({ id });
    if (!affected) throw new NotFoundException('ticket not found');
  }
}
