/** How often the SLA job runs and which open tickets it escalates. */
export interface SlaSchedule {
  /** Milliseconds between runs (1 to 2^31 - 1). */
  everyMs: number;
  /** An open ticket created longer ago than this (ms) is raised to `high`. */
  olderThanMs: number;
  /** Attempts of each tenant's escalation job (1 = no retry). */
  attempts: number;
  /** Delay before the first retry of a failed escalation job (ms), doubled for each next one. */
  retryDelayMs: number;
}

/** The default: every 60 s, tickets open for more than 24 h; 3 attempts, retried after 1 s, 2 s. */
export const DEFAULT_SLA_SCHEDULE: Readonly<SlaSchedule> = Object.freeze({
  everyMs: 60_000,
  olderThanMs: 24 * 60 * 60 * 1000,
  attempts: 3,
  retryDelayMs: 1000,
});

const MAX_TIMER_MS = 2 ** 31 - 1;

/** The schedule with defaults filled in; throws on values a timer or the query cannot use. */
export function resolveSlaSchedule(schedule: Partial<SlaSchedule> = {}): SlaSchedule {
  const resolved = { ...DEFAULT_SLA_SCHEDULE, ...schedule };
  if (
    !Number.isInteger(resolved.everyMs) ||
    resolved.everyMs < 1 ||
    resolved.everyMs > MAX_TIMER_MS
  )
    throw new Error(`sla.everyMs must be an integer from 1 to ${MAX_TIMER_MS}`);
  if (!Number.isInteger(resolved.olderThanMs) || resolved.olderThanMs < 0)
    throw new Error('sla.olderThanMs must be a non-negative integer');
  if (!Number.isInteger(resolved.attempts) || resolved.attempts < 1)
    throw new Error('sla.attempts must be a positive integer');
  if (!Number.isInteger(resolved.retryDelayMs) || resolved.retryDelayMs < 0)
    throw new Error('sla.retryDelayMs must be a non-negative integer');
  return resolved;
}

/**
 * The SLA config from the environment: `SLA=off` disables the job; `SLA_EVERY_MS` and
 * `SLA_OLDER_THAN_MS` override the defaults; nothing set means the defaults.
 */
export function slaScheduleFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): Partial<SlaSchedule> | false {
  if (env.SLA?.trim().toLowerCase() === 'off') return false;
  const schedule: Partial<SlaSchedule> = {};
  if (env.SLA_EVERY_MS) schedule.everyMs = Number(env.SLA_EVERY_MS);
  if (env.SLA_OLDER_THAN_MS) schedule.olderThanMs = Number(env.SLA_OLDER_THAN_MS);
  return schedule;
}
