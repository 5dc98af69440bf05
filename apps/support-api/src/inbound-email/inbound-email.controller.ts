import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Roles, TenantScoped } from '@app/tenancy';
import { TenantMessageClient } from '@app/tenancy/microservices';
import { InboundEmailDto } from './dto/inbound-email.dto';
import { INBOUND_EMAIL_PATTERN } from './inbound-email.constants';

/**
 * `POST /inbound-emails`: queues an email (e.g. from a mail gateway) to become a ticket of the
 * caller's tenant; the message carries the caller's token, verified again when it is consumed.
 */
@ApiTags('inbound-emails')
@ApiBearerAuth()
@TenantScoped()
@Roles('agent', 'admin')
@Controller('inbound-emails')
export class InboundEmailController {
  constructor(@Inject(TenantMessageClient) private readonly queue: TenantMessageClient) {}

  @Post()
  @HttpCode(202)
  @ApiAcceptedResponse({ description: 'queued' })
  async queueEmail(@Body() email: InboundEmailDto): Promise<{ queued: true }> {
    await this.queue.emit(INBOUND_EMAIL_PATTERN, email);
    return { queued: true };
  }
}
