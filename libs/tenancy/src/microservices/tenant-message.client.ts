import { ClientProxy, ClientRMQ, RmqRecord } from '@nestjs/microservices';
import { defer, from, lastValueFrom, mergeMap, Observable } from 'rxjs';
import { TenantContext } from '../context/tenant-context.interface';
import { TenantContextService } from '../context/tenant-context.service';
import { TenancyError } from '../errors/tenancy.error';

/** How {@link TenantMessageClient} picks the token it attaches. */
export interface TenantMessageClientOptions {
  /**
   * Returns the token to attach, given the current context and the token it was verified with
   * (`undefined` when the context came from `resolveTenantContext` or `TenantRunner.run()`): e.g.
   * sign a fresh token for the same tenant, user and role whose lifetime covers the longest time
   * the message may wait in the queue. Default: the verified token, as received.
   */
  token?: (context: TenantContext, verified: string | undefined) => string | Promise<string>;
}

/**
 * Sends messages as the current tenant: wraps a Nest `ClientProxy` (RabbitMQ: `ClientRMQ`) and
 * puts the current context's token into each message's `authorization` header (and its request id
 * into `x-request-id`), where `TenantAuthGuard` reads it on the consumer's side. The consumer
 * verifies the token when it takes the message, not when it was sent: a token that expires while
 * the message waits gets the message rejected, so forward tokens that outlive your queue's delay,
 * or mint one per message with `options.token`.
 */
export class TenantMessageClient {
  constructor(
    private readonly client: Pick<ClientProxy, 'emit' | 'send'>,
    private readonly tenancy: TenantContextService,
    private readonly options: TenantMessageClientOptions = {},
  ) {}

  /**
   * Publishes an event (for @EventPattern handlers) carrying the current token; resolves once the
   * client has handed it to the broker. Throws `TenantContextMissingError` outside a tenant scope.
   */
  async emit(pattern: unknown, data: unknown): Promise<void> {
    const record = this.record(data);
    await lastValueFrom(this.client.emit(pattern, await record), { defaultValue: undefined });
  }

  /**
   * Sends a request (for @MessagePattern handlers) carrying the current token; the reply stream,
   * cold like `ClientProxy.send`. The token is read from the current context right away.
   */
  send<TResult = unknown>(pattern: unknown, data: unknown): Observable<TResult> {
    const record = this.record(data);
    record.catch(() => undefined);
    return defer(() => from(record)).pipe(
      mergeMap((built) => this.client.send<TResult>(pattern, built)),
    );
  }

  /**
   * The transport record of `data` with the current token in its headers (the current context is
   * read before the first `await`, so call it in the handler's own flow).
   */
  async record(data: unknown): Promise<RmqRecord> {
    const context = this.tenancy.require();
    const verified = this.tenancy.token();
    const token = this.options.token ? await this.options.token(context, verified) : verified;
    if (!token) {
      throw new TenancyError(
        'no token to attach to the message: the context was not verified from a bearer token; pass TenantMessageClient options.token to sign one',
      );
    }
    if (!(this.client instanceof ClientRMQ)) {
      throw new TenancyError(
        'TenantMessageClient supports ClientRMQ; for another transport, set the "authorization" header from TenantContextService.token() yourself',
      );
    }
    const own = data instanceof RmqRecord ? data : new RmqRecord(data);
    const headers: Record<string, string> = {
      ...own.options?.headers,
      authorization: `Bearer ${token}`,
    };
    if (context.requestId) headers['x-request-id'] = context.requestId;
    return new RmqRecord(own.data, { ...own.options, headers });
  }
}
