import { Inject, Injectable } from '@nestjs/common';
import { RESOLVED_TENANCY_OPTIONS } from '../tenancy.providers';
import { ResolvedTenancyOptions, TenantStatus } from '../tenancy.options';
import { TenantTransactionFactory } from '../typeorm/tenant-transaction.factory';
import { TenantRunner } from '../context/tenant-runner.service';
import { TenantSuspendedError, UnknownTenantError } from '../errors/tenancy-errors';
import { TenancyConfigurationError } from '../errors/tenancy.error';
import { checkTenantRegistry } from '../catalog/tenant-registry.check';
import { sqlStateOf } from '../errors/sql-state';

const STATUS_READER = '00000000-0000-0000-0000-000000000000';

/** How {@link TenantStatusService} reads a status. */
export interface TenantStatusReadOptions {
  /**
   * Look the status up now instead of trusting the cache (the result is cached): for checks that
   * must not act on a stale status, such as a queued job about to run. Default: `false`.
   */
  fresh?: boolean;
}

/**
 * Tenant registry status with a bounded cache: at most one lookup per tenant per `cacheTtlMs`
 * (concurrent misses share one lookup), so the status check costs no round trip on most requests.
 */
@Injectable()
export class TenantStatusService {
  private readonly cache = new Map<string, { status: TenantStatus | undefined; expires: number }>();
  private readonly inflight = new Map<string, Promise<TenantStatus | undefined>>();

  constructor(
    @Inject(RESOLVED_TENANCY_OPTIONS) private readonly options: ResolvedTenancyOptions,
    private readonly runner: TenantRunner,
    private readonly transactions: TenantTransactionFactory,
  ) {}

  /**
   * The tenant's status, or `undefined` when it does not exist; with `{ fresh: true }` looked up
   * now, bypassing the cache and lookups in flight (the result is cached).
   */
  async status(
    tenantId: string,
    options: TenantStatusReadOptions = {},
  ): Promise<TenantStatus | undefined> {
    if (options.fresh) return this.load(tenantId);
    const hit = this.cache.get(tenantId);
    if (hit && hit.expires > Date.now()) return hit.status;
    let pending = this.inflight.get(tenantId);
    if (!pending) {
      pending = this.load(tenantId).finally(() => this.inflight.delete(tenantId));
      this.inflight.set(tenantId, pending);
    }
    return pending;
  }

  /**
   * Throws unless the tenant exists and is active: {@link UnknownTenantError} or
   * {@link TenantSuspendedError}. HTTP requests are checked by TenantAuthGuard; call this before a
   * job's `run(context, fn)` (with `{ fresh: true }`) so that a suspended tenant's queued work
   * stops as its requests do.
   */
  async assertActive(tenantId: string, options: TenantStatusReadOptions = {}): Promise<void> {
    const status = await this.status(tenantId.toLowerCase(), options);
    if (!status) throw new UnknownTenantError(tenantId);
    if (status !== 'active') throw new TenantSuspendedError(tenantId);
  }

  /** Forgets cached statuses (one tenant, or all): the next request looks them up again. */
  invalidate(tenantId?: string): void {
    if (tenantId) this.cache.delete(tenantId);
    else this.cache.clear();
  }

  private async load(tenantId: string): Promise<TenantStatus | undefined> {
    const lookup = this.options.tenantStatus.lookup ?? ((id: string) => this.lookupInRegistry(id));
    const status = await lookup(tenantId);
    this.cache.delete(tenantId);
    if (this.cache.size >= this.options.tenantStatus.maxEntries) {
      this.cache.delete(this.cache.keys().next().value as string);
    }
    this.cache.set(tenantId, {
      status,
      expires: Date.now() + this.options.tenantStatus.cacheTtlMs,
    });
    return status;
  }

  private lookupInRegistry(tenantId: string): Promise<TenantStatus | undefined> {
    return this.runner.run(
      { tenantId, userId: STATUS_READER, role: 'tenancy-status' },
      async () => {
        const rows: { status: TenantStatus }[] = await this.transactions.dataSource
          .query('SELECT status FROM tenancy.tenants WHERE id = $1', [tenantId])
          .catch((error: unknown) => {
            throw registryError(error) ?? error;
          });
        return rows[0]?.status ?? (await this.assertRegistryReadable());
      },
    );
  }

  /**
   * On a miss, tells an unknown tenant from a registry the role cannot see into: without a policy
   * letting the app role read its own row, every tenant looks unknown, which is a configuration
   * error (500 with the fix), not a 401. Costs a catalog query per unknown tenant per cache period.
   */
  private async assertRegistryReadable(): Promise<undefined> {
    const db = this.transactions.dataSource;
    const [{ role }] = await db.query<{ role: string }[]>('SELECT current_user AS role');
    const findings = await checkTenantRegistry(db, {
      appRole: role,
      tenantSetting: this.options.settings.tenantId,
    });
    const noPolicy = findings.find((f) => f.code === 'TENANT_REGISTRY_NO_POLICY');
    if (noPolicy) throw new TenancyConfigurationError(noPolicy.message);
    return undefined;
  }
}

/**
 * The configuration error behind a failed registry read, if it is one: the registry (or its schema)
 * is missing, or the app's role lacks a privilege on it. A read is never refused by a policy (RLS
 * filters rows out), so a 42501 here is a missing grant, not a tenant reaching another's rows.
 */
function registryError(error: unknown): TenancyConfigurationError | undefined {
  const code = sqlStateOf(error);
  const message = error instanceof Error ? error.message : String(error);
  const fallback = 'or set tenantStatus.lookup to read tenants elsewhere';
  if (code === '42P01' || code === '3F000') {
    return new TenancyConfigurationError(
      `the tenant registry tenancy.tenants does not exist (PostgreSQL: ${message}), so no tenant's status can be looked up: create it in a migration with createTenantRegistry(), ${fallback}`,
    );
  }
  if (code === '42501' && !/row-level security/i.test(message)) {
    const grant = /permission denied for schema/i.test(message)
      ? 'GRANT USAGE ON SCHEMA tenancy'
      : 'GRANT SELECT ON tenancy.tenants';
    return new TenancyConfigurationError(
      `the application's database role may not read the tenant registry tenancy.tenants (PostgreSQL: ${message}), so no tenant's status can be looked up: as the owner, ${grant} TO the role the app connects as (createTenantRegistry() grants it), ${fallback}`,
    );
  }
  return undefined;
}
