import { INestApplication, Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { PlatformNotConfiguredError } from '@app/tenancy';
import { formatDuration } from '../../apps/support-api/src/sla/format-duration';
import { SLA_INTERVAL_NAME } from '../../apps/support-api/src/sla/sla-options';
import { redisOptionsFromUrl, supportJobsFromEnv } from '../../apps/support-api/src/sla/sla-queue';
import {
  DEFAULT_SLA_SCHEDULE,
  resolveSlaSchedule,
  slaScheduleFromEnv,
} from '../../apps/support-api/src/sla/sla-schedule';
import { SlaJob } from '../../apps/support-api/src/sla/sla.job';
import { dropSlaQueues, startSlaApp } from './sla.fixture';

const CENTURY = 100 * 365 * 24 * 60 * 60 * 1000;

/** Whether and how the SLA job is scheduled, from the support-api config. */
describe('support-api SLA job scheduling', () => {
  const apps: INestApplication[] = [];
  const start = async (config: Parameters<typeof startSlaApp>[0]) => {
    const app = await startSlaApp(config);
    apps.push(app);
    return app;
  };

  afterEach(async () => {
    jest.restoreAllMocks();
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });
  afterAll(() => dropSlaQueues());

  it('is registered with the defaults (every 60 s, older than 24 h, 3 attempts) when sla is not set', async () => {
    const app = await start({ sla: undefined });
    jest.spyOn(app.get(SlaJob), 'runOnce').mockResolvedValue({
      tenants: 0,
      escalated: {},
      failed: [],
    });
    expect(app.get(SchedulerRegistry).getIntervals()).toEqual([SLA_INTERVAL_NAME]);
    const defaults = { everyMs: 60_000, olderThanMs: 86_400_000, attempts: 3, retryDelayMs: 1000 };
    expect(app.get(SlaJob).options).toEqual({ schedule: defaults, scheduled: true });
    expect(DEFAULT_SLA_SCHEDULE).toEqual(defaults);
  });

  it('is registered with the configured period, fires on it, and is removed on close', async () => {
    const app = await start({ sla: { everyMs: 50, olderThanMs: CENTURY } });
    const job = app.get(SlaJob);
    const registry = app.get(SchedulerRegistry);
    const runOnce = job.runOnce.bind(job);
    const spy = jest.spyOn(job, 'runOnce').mockImplementation((now) => runOnce(now));
    expect(registry.doesExist('interval', SLA_INTERVAL_NAME)).toBe(true);
    const deadline = Date.now() + 10_000;
    while (spy.mock.calls.length < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(spy.mock.calls.length).toBeGreaterThanOrEqual(2);
    await app.close();
    apps.splice(apps.indexOf(app), 1);
    expect(registry.getIntervals()).toEqual([]);
    const calls = spy.mock.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(spy.mock.calls.length).toBe(calls);
  });

  it('registers nothing with sla: false (runOnce still works on demand)', async () => {
    const app = await start({ sla: false });
    expect(app.get(SchedulerRegistry).getIntervals()).toEqual([]);
    expect(app.get(SlaJob).options).toMatchObject({
      scheduled: false,
      disabledReason: 'sla: false',
    });
    const result = await app.get(SlaJob).runOnce(new Date('1900-01-01T00:00:00Z'));
    expect(result.failed).toEqual([]);
    expect(Object.values(result.escalated).every((n) => n === 0)).toBe(true);
  });

  it('registers nothing, and says so in the log, without a platform database URL', async () => {
    const log = jest.spyOn(Logger.prototype, 'log');
    const app = await start({ platformDatabaseUrl: undefined, sla: undefined });
    expect(app.get(SchedulerRegistry).getIntervals()).toEqual([]);
    expect(app.get(SlaJob).options.scheduled).toBe(false);
    expect(log.mock.calls.map(([message]) => String(message))).toContainEqual(
      expect.stringMatching(/^SLA job disabled: no platformDatabaseUrl/),
    );
    await expect(app.get(SlaJob).runOnce()).rejects.toBeInstanceOf(PlatformNotConfiguredError);
  });

  it('registers nothing, and says so in the log, without a jobs config (Redis for the queue)', async () => {
    const log = jest.spyOn(Logger.prototype, 'log');
    const app = await start({ jobs: undefined, sla: undefined });
    expect(app.get(SchedulerRegistry).getIntervals()).toEqual([]);
    expect(app.get(SlaJob).options).toMatchObject({
      scheduled: false,
      disabledReason: 'no jobs config (REDIS_URL, JOB_SECRET) for the escalation jobs queue',
    });
    expect(log.mock.calls.map(([message]) => String(message))).toContainEqual(
      'SLA job disabled: no jobs config (REDIS_URL, JOB_SECRET) for the escalation jobs queue',
    );
    await expect(app.get(SlaJob).runOnce()).rejects.toThrow(
      'the SLA job needs its queue: configure jobs (REDIS_URL and JOB_SECRET) in SupportApiConfig',
    );
  });

  it('refuses a schedule a timer cannot run', async () => {
    await expect(start({ sla: { everyMs: 0, olderThanMs: 1 } })).rejects.toThrow(/sla.everyMs/);
    await expect(start({ sla: { everyMs: 1000, olderThanMs: -1 } })).rejects.toThrow(
      /sla.olderThanMs/,
    );
    expect(() => resolveSlaSchedule({ everyMs: 2 ** 31 })).toThrow(/sla.everyMs/);
    await expect(start({ sla: { attempts: 0 } })).rejects.toThrow(/sla.attempts/);
    expect(() => resolveSlaSchedule({ retryDelayMs: 1.5 })).toThrow(/sla.retryDelayMs/);
  });

  it('reads REDIS_URL, JOB_SECRET and JOB_PREFIX from the environment', () => {
    expect(supportJobsFromEnv({})).toBeUndefined();
    expect(
      supportJobsFromEnv({ REDIS_URL: 'redis://10.0.0.5:6380/2', JOB_SECRET: 's'.repeat(32) }),
    ).toEqual({ redisUrl: 'redis://10.0.0.5:6380/2', secret: 's'.repeat(32), prefix: undefined });
    expect(() => supportJobsFromEnv({ REDIS_URL: 'redis://127.0.0.1:6379' })).toThrow(
      'JOB_SECRET (at least 32 characters) is required with REDIS_URL',
    );
    expect(redisOptionsFromUrl('rediss://u:p%40ss@cache.example:6390/3')).toEqual({
      host: 'cache.example',
      port: 6390,
      username: 'u',
      password: 'p@ss',
      db: 3,
      tls: {},
    });
    expect(() => redisOptionsFromUrl('http://127.0.0.1:6379')).toThrow(/redis:\/\//);
  });

  it('reads SLA, SLA_EVERY_MS and SLA_OLDER_THAN_MS from the environment', () => {
    expect(slaScheduleFromEnv({})).toEqual({});
    expect(slaScheduleFromEnv({ SLA: 'off' })).toBe(false);
    expect(slaScheduleFromEnv({ SLA_EVERY_MS: '5000', SLA_OLDER_THAN_MS: '3600000' })).toEqual({
      everyMs: 5000,
      olderThanMs: 3_600_000,
    });
  });

  it('formats durations for the comment and the log', () => {
    expect(formatDuration(86_400_000)).toBe('24 hours');
    expect(formatDuration(3_600_000)).toBe('1 hour');
    expect(formatDuration(90 * 60_000)).toBe('90 minutes');
    expect(formatDuration(1000)).toBe('1 second');
    expect(formatDuration(1500)).toBe('1500 ms');
  });
});
