import { CallHandler, ExecutionContext, Injectable, Logger, NestInterceptor } from '@nestjs/common';
import { from, lastValueFrom, Observable } from 'rxjs';
import { TenantContextService } from '../context/tenant-context.service';
import { TenantStreamAbandonedError } from '../errors/tenancy-errors';

/** `GET /path (Controller.handler)` for HTTP, `Controller.handler` otherwise. */
function routeOf(context: ExecutionContext): string {
  const handler = `${context.getClass().name}.${context.getHandler().name}`;
  if (context.getType() !== 'http') return handler;
  const req = context.switchToHttp().getRequest<{ method?: string; url?: string }>();
  return `${req?.method ?? ''} ${req?.url ?? ''} (${handler})`;
}

/**
 * Runs the handler as the authenticated tenant: one lazy transaction for the whole request,
 * committed before the response is sent and rolled back when the handler throws. A handler that
 * sends no query opens no transaction and costs no round trip.
 */
@Injectable()
export class TenantTransactionInterceptor implements NestInterceptor {
  private readonly logger = new Logger('Tenancy');

  constructor(private readonly context: TenantContextService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const tenant = this.context.require();
    return from(
      this.context
        .run(tenant, () => lastValueFrom(next.handle(), { defaultValue: undefined }))
        .catch((error: unknown) => {
          if (error instanceof TenantStreamAbandonedError) {
            this.logger.error(`${routeOf(context)}: ${error.message}`);
          }
          throw error;
        }),
    );
  }
}
