import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Inject,
  Logger,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { DatabaseError } from 'pg';
import { Observable, throwError } from 'rxjs';
import { QueryFailedError } from 'typeorm';
import { MessageRefusal } from '../auth/message-refusal';
import { UnknownAuditEntryError } from '../audit/unknown-audit-entry.error';
import {
  InvalidTenantContextError,
  TenantConnectionLostError,
  TenantContextMissingError,
  TenantReplicaUnavailableError,
  TenantSuspendedError,
  UnknownTenantError,
} from '../errors/tenancy-errors';
import { TenancyConfigurationError, TenancyError } from '../errors/tenancy.error';
import { RESOLVED_TENANCY_OPTIONS } from '../tenancy.providers';
import { ResolvedTenancyOptions } from '../tenancy.options';
import { sqlStateOf } from '../errors/sql-state';

const UNAVAILABLE = new Set([
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '57014',
  '08000',
  '08003',
  '08006',
  '08001',
  '08004',
]);
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);
/**
 * A value PostgreSQL cannot take: malformed (22P02), out of range (22003, 22008), a date/time it
 * cannot read (22007), a NUL or unencodable character in text (22021, 22P05), a failed CHECK (23514).
 */
const INVALID_VALUE = new Set(['22P02', '22003', '22007', '22008', '22021', '22P05', '23514']);

interface ErrorBody {
  statusCode: number;
  message: string | string[];
  error: string;
}

function body(status: number, message: string | string[]): ErrorBody {
  const error = (HttpStatus[status] ?? 'Error')
    .toLowerCase()
    .split('_')
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join(' ');
  return { statusCode: status, message, error };
}

/**
 * What the filter maps besides the library's own errors, as an `instanceof` target for `@Catch()`:
 * a statement PostgreSQL refused (TypeORM's `QueryFailedError`, pg's `DatabaseError`) and a
 * database connection that was refused, lost or timed out.
 */
abstract class DatabaseFailure {
  static [Symbol.hasInstance](error: unknown): boolean {
    if (error instanceof QueryFailedError || error instanceof DatabaseError) return true;
    const code = sqlStateOf(error);
    return (code !== undefined && NETWORK.has(code)) || isConnectionLoss(error);
  }
}

/**
 * The error mapping of tenant-scoped routes: library errors (`TenancyError`) and database errors
 * become JSON `{statusCode, message, error}` with no stack trace. RLS refusals (42501) become 403
 * (or 404, see `rlsViolationStatus`), lost or overloaded database connections and unavailable read
 * replicas 503, unique and
 * serialization conflicts 409, values PostgreSQL cannot take 400, a `TenancyConfigurationError`
 * (e.g. a tenant registry the app's role may not read) 500 saying the server is misconfigured,
 * anything else it catches 500 (every 500 is logged server-side with its stack). Every other error
 * (an `HttpException`, the app's own) is left to the app's exception filters, or Nest's, as on any
 * other route. It answers through the app's HTTP adapter, so it works on Express and Fastify alike.
 * On a broker message (`rpc`) it also maps the 401/403 refusals of the library's guards, logs why
 * the message was refused, and fails with an RpcException-style error instead of answering.
 */
@Catch(TenancyError, DatabaseFailure, MessageRefusal)
export class TenancyExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Tenancy');

  constructor(
    @Inject(RESOLVED_TENANCY_OPTIONS) private readonly options: ResolvedTenancyOptions,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void | Observable<never> | HttpException {
    if (host.getType() === 'rpc') return this.messageError(exception, host);
    if (host.getType<string>() === 'graphql') return this.toHttpException(exception);
    const { httpAdapter } = this.adapterHost;
    const response: unknown = host.switchToHttp().getResponse();
    const out = this.toBody(exception);
    if (out.statusCode >= 500) this.logServerError(exception);
    if (httpAdapter.isHeadersSent(response)) return;
    httpAdapter.reply(response, out, out.statusCode);
  }

  /**
   * The error of a broker message (`rpc`): logged, a refusal as a warning that says why and a 500
   * with its stack, and returned as the RpcException-style `{status: 'error', statusCode, message,
   * error}` (no stack) that the transport replies with, or that makes it reject the message.
   */
  protected messageError(exception: unknown, host: ArgumentsHost): Observable<never> {
    const out = this.toBody(exception);
    const pattern = messagePattern(host);
    if (out.statusCode >= 500) {
      this.logServerError(exception, `${pattern}: `);
    } else {
      this.logger.warn(`${pattern}: message refused (${out.statusCode} ${String(out.message)})`);
    }
    return throwError(() => ({ status: 'error', ...out }));
  }

  /**
   * The error as the `HttpException` of its mapped status and body (a 500 is logged with its
   * stack): what a GraphQL resolver's error becomes, for the GraphQL error formatter of
   * `nestjs-rls-tenancy/graphql` to turn into a coded GraphQL error.
   */
  toHttpException(exception: unknown): HttpException {
    const out = this.toBody(exception);
    if (out.statusCode >= 500) this.logServerError(exception);
    return new HttpException(out, out.statusCode);
  }

  /** Logs a 500's cause with its stack (never sent to the client). */
  private logServerError(exception: unknown, prefix = ''): void {
    this.logger.error(
      `${prefix}${exception instanceof Error ? exception.stack : String(exception)}`,
    );
  }

  /**
   * The JSON body (and status) for an error the filter caught; override to change the mapping (a
   * subclass that maps more error types names them in its own `@Catch()`).
   */
  protected toBody(exception: unknown): ErrorBody {
    if (exception instanceof HttpException) return body(exception.getStatus(), exception.message);
    if (exception instanceof TenantContextMissingError || exception instanceof UnknownTenantError) {
      return body(401, exception.message);
    }
    if (exception instanceof TenantSuspendedError) return body(403, exception.message);
    if (exception instanceof TenantConnectionLostError)
      return body(503, 'database unavailable, retry the request');
    if (exception instanceof TenantReplicaUnavailableError)
      return body(503, 'read replica unavailable, retry the request');
    if (exception instanceof InvalidTenantContextError) return body(400, exception.message);
    if (exception instanceof UnknownAuditEntryError) return body(400, exception.message);
    if (exception instanceof TenancyConfigurationError)
      return body(500, 'server misconfiguration: the server log says what to fix');
    const code = sqlStateOf(exception);
    if (code === '42501') {
      const status = this.options.rlsViolationStatus;
      return body(
        status,
        status === 404 ? 'not found' : 'row-level security denied this operation',
      );
    }
    if (code === '23505') return body(409, 'conflict with an existing row');
    if (code === '40001' || code === '40P01')
      return body(409, 'concurrent update conflict, retry the request');
    if (code === '23503') return body(409, 'a row this one refers to does not exist');
    if (code && INVALID_VALUE.has(code)) return body(400, 'invalid value');
    if ((code && (UNAVAILABLE.has(code) || NETWORK.has(code))) || isConnectionLoss(exception)) {
      return body(503, 'database unavailable, retry the request');
    }
    return body(500, 'Internal server error');
  }
}

/** The pattern (RMQ), subject (NATS) or topic (Kafka, MQTT) of the message being handled. */
function messagePattern(host: ArgumentsHost): string {
  const rpc = host.switchToRpc().getContext<Record<string, unknown> | undefined>();
  for (const getter of ['getPattern', 'getSubject', 'getTopic']) {
    const fn = rpc?.[getter];
    const value: unknown = typeof fn === 'function' ? (fn as () => unknown).call(rpc) : undefined;
    if (typeof value === 'string') return value;
  }
  return 'message';
}

function isConnectionLoss(error: unknown): boolean {
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|connection error|not queryable|Client was closed|timeout exceeded when trying to connect/i.test(
    message,
  );
}
