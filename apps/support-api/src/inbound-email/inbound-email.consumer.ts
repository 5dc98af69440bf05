import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { Roles, TenantContextService, TenantScoped } from '@app/tenancy';
import { TicketResponse } from '../tickets/dto/ticket.response';
import { TicketsService } from '../tickets/tickets.service';
import { InboundEmailDto } from './dto/inbound-email.dto';
import { INBOUND_EMAIL_PATTERN } from './inbound-email.constants';
import { messagePayloadPipe } from './inbound-email.payload-pipe';

/**
 * Consumes `inbound-email` messages (RabbitMQ): each becomes a ticket of the tenant whose token the
 * message carries, requested by the token's user. A message without a valid token, with an invalid
 * payload, or whose insert fails is rejected to the dead-letter queue (see TenantRmqServer).
 */
@TenantScoped()
@Roles('agent', 'admin')
@Controller()
export class InboundEmailConsumer {
  constructor(
    private readonly tickets: TicketsService,
    private readonly tenancy: TenantContextService,
  ) {}

  @EventPattern(INBOUND_EMAIL_PATTERN)
  receive(@Payload(messagePayloadPipe()) email: InboundEmailDto): Promise<TicketResponse> {
    return this.tickets.create(this.tenancy.require(), {
      subject: email.subject,
      description: email.body,
      priority: email.priority,
    });
  }
}
