import { Logger } from '@nestjs/common';
import { ReadPacket, RmqContext, RmqOptions, ServerRMQ, WritePacket } from '@nestjs/microservices';
import { lastValueFrom, Observable, tap } from 'rxjs';

/** The `options` of Nest's RMQ transport. */
type RmqServerOptions = NonNullable<RmqOptions['options']>;

/** Options of {@link TenantRmqServer}: Nest's RMQ options, and where rejected messages go. */
export interface TenantRmqServerOptions extends RmqServerOptions {
  /**
   * Queue that receives every rejected message (through the default exchange), declared durable
   * at start-up; the consumer queue is declared with `x-dead-letter-exchange: ''` and
   * `x-dead-letter-routing-key: <this>` (use {@link deadLetterQueueOptions} for a producer that
   * declares the queue too: RabbitMQ refuses a second declaration with other arguments). Without
   * it, RabbitMQ drops rejected messages unless the queue has a dead-letter policy. Default: none.
   */
  deadLetterQueue?: string;
}

/**
 * The `queueOptions` of a queue whose rejected messages RabbitMQ moves to `deadLetterQueue`
 * (through the default exchange); pass the same to every client that declares the queue.
 */
export function deadLetterQueueOptions(
  deadLetterQueue: string,
  queueOptions: Record<string, unknown> = { durable: true },
): Record<string, unknown> {
  return {
    ...queueOptions,
    arguments: {
      ...(queueOptions.arguments as Record<string, unknown> | undefined),
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': deadLetterQueue,
    },
  };
}

/** What an RMQ failure is logged as: the RpcException-style `message`, or the error's. */
function reasonOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  const message = (error as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : JSON.stringify(error);
}

/**
 * Nest's RabbitMQ transport with manual acknowledgement done for you (`noAck: false` is the
 * default here): each message is acked once its handler's result has completed (for a
 * @TenantScoped() handler, after its transaction committed) and its reply, if any, was sent, and
 * rejected without requeue (so dead-lettered, see `deadLetterQueue`) when anything refuses or
 * fails: a guard (no token, a forged or expired one, a suspended tenant), a pipe (an invalid
 * payload), the handler, the commit. A rejected message is never redelivered, so a poison message
 * can neither loop nor stop the consumer; Nest itself rejects one with no handler (unparsable
 * JSON among them). Use it as `app.connectMicroservice({ strategy: new TenantRmqServer(opts) })`.
 * With `noAck: true` it behaves exactly as `ServerRMQ`.
 */
export class TenantRmqServer extends ServerRMQ {
  private readonly deadLetterQueue?: string;
  private readonly tenancyLogger = new Logger('TenantRmqServer');

  constructor(options: TenantRmqServerOptions) {
    const { deadLetterQueue, ...rmq } = options;
    super({
      ...rmq,
      noAck: rmq.noAck ?? false,
      queueOptions: deadLetterQueue
        ? deadLetterQueueOptions(deadLetterQueue, rmq.queueOptions)
        : rmq.queueOptions,
    });
    this.deadLetterQueue = deadLetterQueue;
  }

  /** Declares the dead-letter queue, then sets the consumer up as `ServerRMQ` does. */
  override async setupChannel(
    channel: { assertQueue(queue: string, options: object): Promise<unknown> },
    callback: () => void,
  ): Promise<void> {
    if (this.deadLetterQueue) await channel.assertQueue(this.deadLetterQueue, { durable: true });
    return super.setupChannel(channel, callback);
  }

  /** Runs an event's handler to its end, then acks the message, or rejects it on any failure. */
  override async handleEvent(
    pattern: string,
    packet: ReadPacket,
    context: RmqContext,
  ): Promise<unknown> {
    const handler = this.getHandlerByPattern(pattern);
    if (this.noAck || !handler) return super.handleEvent(pattern, packet, context);
    this.runWithProcessingHooks(context, async (runEndHook) => {
      try {
        const stream = this.transformToObservable(await handler(packet.data, context));
        await lastValueFrom(stream, { defaultValue: undefined });
        this.settle(context, pattern);
      } catch (error) {
        this.settle(context, pattern, error);
      } finally {
        runEndHook();
      }
    });
  }

  /** Sends a request's replies as `ServerRMQ` does, then acks the message, or rejects it. */
  protected override handleRequest(
    context: RmqContext,
    produce: () => Promise<Observable<unknown>>,
    respond: (data: WritePacket) => Promise<unknown> | void,
  ): void {
    if (this.noAck) return super.handleRequest(context, produce, respond);
    const pattern = context.getPattern();
    let failure: { error: unknown } | undefined;
    super.handleRequest(
      context,
      async () => {
        try {
          return (await produce()).pipe(tap({ error: (error) => (failure ??= { error }) }));
        } catch (error) {
          this.settle(context, pattern, error);
          throw error;
        }
      },
      async (packet) => {
        if (packet.err !== undefined) failure ??= { error: packet.err };
        try {
          await respond(packet);
        } finally {
          if (packet.isDisposed) this.settle(context, pattern, ...(failure ? [failure.error] : []));
        }
      },
    );
  }

  /** Acks the message (no error given) or rejects it without requeue, logging why; once only. */
  private settle(context: RmqContext, pattern: string, ...failed: [] | [unknown]): void {
    const message = context.getMessage();
    if (this.settled.has(message)) return;
    this.settled.add(message);
    const channel = context.getChannelRef() as {
      ack(message: object): void;
      nack(message: object, allUpTo: boolean, requeue: boolean): void;
    };
    if (failed.length === 0) return channel.ack(message);
    const where = this.deadLetterQueue ? `dead-lettered to ${this.deadLetterQueue}` : 'rejected';
    this.tenancyLogger.warn(`${pattern}: message ${where}: ${reasonOf(failed[0])}`);
    channel.nack(message, false, false);
  }

  private readonly settled = new WeakSet<object>();
}
