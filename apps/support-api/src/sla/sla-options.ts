import { SupportApiConfig } from '../support-api.config';
import { resolveSlaSchedule, SlaSchedule } from './sla-schedule';

/** Injection token of the resolved {@link SlaOptions}. */
export const SLA_OPTIONS = Symbol('support-api.sla-options');

/** Name of the TypeORM connection (the `tenancy_platform` role) that lists tenants. */
export const PLATFORM_DATA_SOURCE = 'platform';

/** Name of the job's interval in @nestjs/schedule's SchedulerRegistry. */
export const SLA_INTERVAL_NAME = 'support-api.sla';

/** What the SLA job was configured to do; `disabledReason` is set when nothing is scheduled. */
export interface SlaOptions {
  schedule: SlaSchedule;
  scheduled: boolean;
  disabledReason?: string;
}

/** The SLA options of a support-api config: scheduled unless `sla: false`, or no platform URL or jobs config. */
export function slaOptionsFrom(config: SupportApiConfig): SlaOptions {
  const schedule = resolveSlaSchedule(config.sla || {});
  if (config.sla === false) return { schedule, scheduled: false, disabledReason: 'sla: false' };
  if (!config.platformDatabaseUrl) {
    return {
      schedule,
      scheduled: false,
      disabledReason: 'no platformDatabaseUrl (the tenancy_platform role) to list tenants with',
    };
  }
  if (!config.jobs) {
    return {
      schedule,
      scheduled: false,
      disabledReason: 'no jobs config (REDIS_URL, JOB_SECRET) for the escalation jobs queue',
    };
  }
  return { schedule, scheduled: true };
}
