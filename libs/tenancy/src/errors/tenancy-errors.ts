import { TenancyError } from './tenancy.error';

/** No tenant context where one is required: the code ran outside @TenantScoped() and run(). */
export class TenantContextMissingError extends TenancyError {
  constructor() {
    super(
      'no tenant context: run this code in a @TenantScoped() handler or inside TenantContextService.run(context, fn)',
    );
  }
}

/** A tenant context exists but no tenant transaction: the context was set by hand. */
export class TenantTransactionMissingError extends TenancyError {
  constructor() {
    super(
      'a tenant context is set but no tenant transaction is open: use @TenantScoped() or TenantContextService.run(); do not set the context by hand',
    );
  }
}

/** A query was issued after its tenant transaction had ended (e.g. a promise left running after the response). */
export class TenantTransactionClosedError extends TenancyError {
  constructor() {
    super(
      'the tenant transaction of this request has already ended: await every query before the handler returns',
    );
  }
}

/** User code tried to commit or roll back the transaction that TenancyModule owns. */
export class TenantTransactionOwnershipError extends TenancyError {
  constructor(action: string) {
    super(
      `cannot ${action} the tenant transaction: TenancyModule commits it when the request ends; use dataSource.transaction() for a nested unit of work`,
    );
  }
}

/** The tenant does not exist in the registry. */
export class UnknownTenantError extends TenancyError {
  constructor(readonly tenantId: string) {
    super(`tenant ${tenantId} does not exist`);
  }
}

/** The tenant exists but is suspended. */
export class TenantSuspendedError extends TenancyError {
  constructor(readonly tenantId: string) {
    super(`tenant ${tenantId} is suspended`);
  }
}

/** The context passed to run() is malformed (non-uuid ids, empty role). */
export class InvalidTenantContextError extends TenancyError {}

/** The start-up check found the connection or the catalog unsafe. */
export class UnsafeDatabaseError extends TenancyError {}

/** runAsPlatform() was called but no platform data source is configured. */
export class PlatformNotConfiguredError extends TenancyError {
  constructor() {
    super(
      'platform work needs a platform data source: set TenancyModule.forRoot({ platform: { dataSourceName } }) to a TypeOrmModule connection meant for it',
    );
  }
}

/** A statement failed inside the tenant transaction and the handler went on: nothing was committed. */
export class TenantTransactionAbortedError extends TenancyError {
  constructor() {
    super(
      'the tenant transaction was aborted by an earlier failed statement, so nothing was committed; let the error propagate, or wrap the statement that may fail in dataSource.transaction() (a savepoint)',
    );
  }
}

/** The tenant transaction's connection was lost (backend terminated, server restarted): nothing was committed. */
export class TenantConnectionLostError extends TenancyError {
  constructor() {
    super(
      'the database connection of this tenant transaction was lost, so nothing was committed; retry the request',
    );
  }
}

/**
 * A statement in a tenant scope would change the pooled connection's session (SET without LOCAL,
 * a session advisory lock, LISTEN, a temporary table, ...): it would outlive the transaction and
 * reach the next request on that connection, so it is refused before it is sent.
 */
export class TenantSessionStateError extends TenancyError {
  constructor(
    readonly statement: string,
    fix: string,
  ) {
    super(
      `${statement} would outlive this tenant transaction on a pooled connection and is refused: ${fix}`,
    );
  }
}

/**
 * A stream opened in a tenant scope was still unconsumed when the scope ended: it was destroyed,
 * its connection went back to the pool, and the transaction was rolled back.
 */
export class TenantStreamAbandonedError extends TenancyError {
  constructor() {
    super(
      'a query stream of this tenant transaction was not consumed before the scope ended, so it was destroyed and nothing was committed: read every stream to its end (or destroy it) before the handler returns',
    );
  }
}

/**
 * A statement of a read-only tenant scope (`@TenantScoped({ readOnly: true })`, `run(..., {
 * readOnly: true })`) tried to write, and PostgreSQL refused it (SQLSTATE 25006): on a replica and
 * on the primary alike, nothing was written. A bug in the handler, answered as a 500.
 */
export class TenantReadOnlyScopeError extends TenancyError {
  constructor(
    readonly statement: string,
    readonly databaseError?: unknown,
  ) {
    super(
      `a read-only tenant scope cannot write (${statement.trim().split(/\s+/).slice(0, 3).join(' ')} ...): remove readOnly from @TenantScoped() or run() for work that writes, or move the write to a scope of its own`,
    );
  }
}

/**
 * A read-only tenant scope was to run on a read replica, and no replica could serve it (down, not in
 * recovery, or lagging more than `replicas.maxLagMs`) while `replicas.whenUnavailable` is `'fail'`:
 * answered as 503, retry later. With `'primary'` (the default) the scope runs on the primary instead.
 */
export class TenantReplicaUnavailableError extends TenancyError {
  constructor(readonly reason: string) {
    super(
      `no read replica can serve this read-only tenant scope (${reason}), and replicas.whenUnavailable is 'fail': retry later, or set whenUnavailable: 'primary' to read from the primary meanwhile`,
    );
  }
}
