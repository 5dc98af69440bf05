import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { from, lastValueFrom, Observable } from 'rxjs';
import { TenantContextService } from '../context/tenant-context.service';

/**
 * Runs the handler as the authenticated tenant: one lazy transaction for the whole request,
 * committed before the response is sent and rolled back when the handler throws. A handler that
 * sends no query opens no transaction and costs no round trip.
 */
@Injectable()
export class TenantTransactionInterceptor implements NestInterceptor {
  constructor(private readonly context: TenantContextService) {}

  intercept(_: ExecutionContext, next: CallHandler): Observable<unknown> {
    const tenant = this.context.require();
    return from(
      this.context.run(tenant, () => lastValueFrom(next.handle(), { defaultValue: undefined })),
    );
  }
}
