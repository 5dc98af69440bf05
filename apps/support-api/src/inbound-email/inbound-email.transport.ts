import { INestApplication } from '@nestjs/common';
import { TenantRmqServer } from '@app/tenancy/microservices';
import {
  DEFAULT_INBOUND_EMAIL_QUEUE,
  inboundEmailDeadLetterQueue,
} from './inbound-email.constants';
import { InboundEmailOptions } from './inbound-email.module';

/**
 * Makes the app a hybrid (HTTP + RabbitMQ) app consuming inbound emails: a TenantRmqServer on the
 * queue, with manual acks and rejected messages dead-lettered to `<queue>.dead`. Started by
 * `app.startAllMicroservices()`.
 */
export function connectInboundEmailConsumer(
  app: INestApplication,
  options: InboundEmailOptions,
): void {
  const queue = options.inboundEmailQueue ?? DEFAULT_INBOUND_EMAIL_QUEUE;
  app.connectMicroservice({
    strategy: new TenantRmqServer({
      urls: [options.amqpUrl],
      queue,
      noAck: false,
      prefetchCount: 10,
      deadLetterQueue: inboundEmailDeadLetterQueue(queue),
    }),
  });
}
