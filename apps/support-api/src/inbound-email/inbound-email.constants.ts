/** Pattern of the messages that become tickets. */
export const INBOUND_EMAIL_PATTERN = 'inbound-email';

/** Injection token of the RabbitMQ client that publishes inbound emails. */
export const INBOUND_EMAIL_CLIENT = Symbol('support.inbound-email-client');

/** Default queue of inbound emails; rejected ones go to `<queue>.dead`. */
export const DEFAULT_INBOUND_EMAIL_QUEUE = 'support.inbound-email';

/** The queue that receives the rejected messages of `queue`. */
export function inboundEmailDeadLetterQueue(queue: string): string {
  return `${queue}.dead`;
}
