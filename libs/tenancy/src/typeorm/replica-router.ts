import { Logger } from '@nestjs/common';
import { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { TenantContext } from '../context/tenant-context.interface';
import { TenantReplicaUnavailableError } from '../errors/tenancy-errors';
import { ResolvedReplicaOptions } from '../tenancy.options';
import { TenancyDataSource } from './tenancy-data-source';
import { READ_ONLY_ON_PRIMARY, TenantScopePlacement } from './tenant-query-runner';

/**
 * One replica's state: in recovery (a standby, not a promoted or misconfigured primary) and its
 * replay lag in milliseconds: 0 when all WAL received is replayed, otherwise the age of the last
 * replayed transaction (so a paused or slow replay grows it even while nothing is written).
 */
const HEALTH = `SELECT pg_is_in_recovery() AS "inRecovery",
  CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
       ELSE COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000, 0)
  END::float8 AS "lagMs"`;
/** Longest wait for one replica's health answer before it counts as down. */
const HEALTH_TIMEOUT_MS = 2_000;
/** Most writers remembered for read-your-writes; the one that wrote longest ago goes first. */
const MAX_WRITERS = 10_000;

interface Health {
  usable: boolean;
  reason: string;
  checkedAt: number;
}

/** The part of a pg Pool the health check uses. */
interface ReplicaPool {
  query(sql: string): Promise<{ rows: { inRecovery: boolean; lagMs: number }[] }>;
}

/**
 * Internal: places read-only tenant scopes on TypeORM's replicas (`replication.slaves`) while they
 * are healthy (every one in recovery and within `maxLagMs`, checked at most every `healthTtlMs`),
 * keeps a recent writer's read-only scopes on the primary (read-your-writes), and applies
 * `whenUnavailable` when the replicas cannot serve. TypeORM picks the replica of each connection
 * at random, so one unhealthy replica takes every read-only scope off the replicas.
 */
export class ReplicaRouter {
  private readonly logger = new Logger('Tenancy');
  private health?: Health;
  private checking?: Promise<Health>;
  private readonly writers = new Map<string, number>();

  constructor(
    private readonly ds: TenancyDataSource,
    private readonly options: ResolvedReplicaOptions,
  ) {}

  /** Whether the data source has replicas configured. */
  get replicated(): boolean {
    const driver = this.ds.driver as PostgresDriver;
    return driver.isReplicated && driver.slaves.length > 0;
  }

  /**
   * Where a read-only scope runs: on a replica when they are healthy and its writer did not write
   * lately, otherwise on the primary or refused ({@link TenantReplicaUnavailableError}) as
   * `whenUnavailable` says.
   */
  async place(context: TenantContext): Promise<TenantScopePlacement> {
    if (!this.replicated || this.wroteLately(context)) return READ_ONLY_ON_PRIMARY;
    const health = await this.currentHealth();
    if (!health.usable) {
      this.unavailable(health.reason);
      return READ_ONLY_ON_PRIMARY;
    }
    return {
      readOnly: true,
      replica: true,
      replicaFailed: (error) => {
        const reason = `a replica refused the connection: ${error instanceof Error ? error.message : String(error)}`;
        this.health = { usable: false, reason, checkedAt: Date.now() };
        this.unavailable(reason);
      },
    };
  }

  /** Records that `context` committed a write, for read-your-writes. */
  noteWrite(context: TenantContext): void {
    if (!this.replicated || this.options.readYourWritesMs <= 0) return;
    const key = this.writerKey(context);
    this.writers.delete(key);
    this.writers.set(key, Date.now() + this.options.readYourWritesMs);
    if (this.writers.size > MAX_WRITERS) {
      this.writers.delete(this.writers.keys().next().value as string);
    }
  }

  /**
   * Checks every replica now (recovery state and lag), one check at a time; what read-only scopes
   * go by until the next. Never rejects: a replica that fails to answer is reported as down.
   */
  private check(): Promise<Health> {
    this.checking ??= this.checkReplicas().then((health) => {
      this.checking = undefined;
      if (health.usable !== (this.health?.usable ?? true)) {
        this.logger.warn(
          health.usable
            ? 'read replicas usable again: read-only scopes run on them'
            : `read replicas unusable (${health.reason}): read-only scopes ${this.options.whenUnavailable === 'fail' ? 'are refused' : 'run on the primary'}`,
        );
      }
      return (this.health = health);
    });
    return this.checking;
  }

  private async currentHealth(): Promise<Health> {
    const health = this.health;
    if (!health) return this.check();
    if (Date.now() - health.checkedAt > this.options.healthTtlMs) void this.check();
    return health;
  }

  private async checkReplicas(): Promise<Health> {
    const pools = (this.ds.driver as PostgresDriver).slaves as ReplicaPool[];
    const answers = await Promise.all(pools.map((pool, i) => this.checkReplica(pool, i)));
    const problem = answers.find((answer) => answer !== undefined);
    return { usable: problem === undefined, reason: problem ?? 'healthy', checkedAt: Date.now() };
  }

  /** Undefined for a healthy replica, otherwise what is wrong with it. */
  private async checkReplica(pool: ReplicaPool, index: number): Promise<string | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no answer')), HEALTH_TIMEOUT_MS);
      timer.unref();
    });
    try {
      const { rows } = await Promise.race([pool.query(HEALTH), timeout]);
      const [{ inRecovery, lagMs }] = rows;
      if (!inRecovery) return `replica ${index} is not in recovery (not a standby)`;
      if (lagMs > this.options.maxLagMs) {
        return `replica ${index} lags ${Math.round(lagMs)} ms (maxLagMs ${this.options.maxLagMs})`;
      }
      return undefined;
    } catch (error) {
      return `replica ${index} is down (${error instanceof Error ? error.message : String(error)})`;
    } finally {
      clearTimeout(timer);
    }
  }

  private unavailable(reason: string): void {
    if (this.options.whenUnavailable === 'fail') throw new TenantReplicaUnavailableError(reason);
  }

  private wroteLately(context: TenantContext): boolean {
    if (this.options.readYourWritesMs <= 0) return false;
    const key = this.writerKey(context);
    const until = this.writers.get(key);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.writers.delete(key);
    return false;
  }

  private writerKey(context: TenantContext): string {
    return this.options.readYourWritesBy === 'tenant'
      ? context.tenantId
      : `${context.tenantId}/${context.userId}`;
  }
}
