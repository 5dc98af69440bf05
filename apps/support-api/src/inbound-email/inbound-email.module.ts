import { DynamicModule, Module } from '@nestjs/common';
import { ClientProxy, ClientsModule, Transport } from '@nestjs/microservices';
import { TenantContextService } from '@app/tenancy';
import { deadLetterQueueOptions, TenantMessageClient } from '@app/tenancy/microservices';
import { TicketsModule } from '../tickets/tickets.module';
import {
  DEFAULT_INBOUND_EMAIL_QUEUE,
  INBOUND_EMAIL_CLIENT,
  inboundEmailDeadLetterQueue,
} from './inbound-email.constants';
import { InboundEmailConsumer } from './inbound-email.consumer';
import { InboundEmailController } from './inbound-email.controller';

/** Where inbound emails are queued. */
export interface InboundEmailOptions {
  /** AMQP url of RabbitMQ. */
  amqpUrl: string;
  /** The queue. Default: `support.inbound-email`. */
  inboundEmailQueue?: string;
}

/**
 * Inbound emails over RabbitMQ: the consumer (the app must connect a TenantRmqServer on the same
 * queue, see createSupportApp) and `POST /inbound-emails`, which publishes as the caller.
 */
@Module({})
export class InboundEmailModule {
  static forRoot(options: InboundEmailOptions): DynamicModule {
    const queue = options.inboundEmailQueue ?? DEFAULT_INBOUND_EMAIL_QUEUE;
    return {
      module: InboundEmailModule,
      imports: [
        TicketsModule,
        ClientsModule.register([
          {
            name: INBOUND_EMAIL_CLIENT,
            transport: Transport.RMQ,
            options: {
              urls: [options.amqpUrl],
              queue,
              queueOptions: deadLetterQueueOptions(inboundEmailDeadLetterQueue(queue)),
            },
          },
        ]),
      ],
      controllers: [InboundEmailConsumer, InboundEmailController],
      providers: [
        {
          provide: TenantMessageClient,
          useFactory: (client: ClientProxy, tenancy: TenantContextService) =>
            new TenantMessageClient(client, tenancy),
          inject: [INBOUND_EMAIL_CLIENT, TenantContextService],
        },
      ],
    };
  }
}
