import { DynamicModule, Module } from '@nestjs/common';
import { BullModule } from '@nestjs/bullmq';
import { TenantJobsModule } from '@app/tenancy/jobs';
import { SUPPORT_ROLES, SupportApiConfig } from '../support-api.config';
import { SlaEscalationProcessor } from './sla-escalation.processor';
import { SLA_OPTIONS, slaOptionsFrom } from './sla-options';
import { redisOptionsFromUrl, SLA_QUEUE } from './sla-queue';
import { SLA_SYSTEM_ROLE } from './sla-system-user';
import { SlaJob } from './sla.job';

/**
 * The SLA job (needs ScheduleModule and TenancyModule in the root module). With `config.jobs`, it
 * registers BullMQ (the `support-sla` queue on that Redis), TenantJobsModule (jobs may run as the
 * app's roles and the SLA's `system` role) and the escalation worker.
 */
@Module({})
export class SlaModule {
  static forRoot(config: SupportApiConfig): DynamicModule {
    const jobs = config.jobs;
    return {
      module: SlaModule,
      imports: jobs
        ? [
            BullModule.forRoot({
              connection: redisOptionsFromUrl(jobs.redisUrl),
              ...(jobs.prefix ? { prefix: jobs.prefix } : {}),
            }),
            BullModule.registerQueue({ name: SLA_QUEUE }),
            TenantJobsModule.forRoot({
              secret: jobs.secret,
              roles: [...SUPPORT_ROLES, SLA_SYSTEM_ROLE],
            }),
          ]
        : [],
      providers: [
        { provide: SLA_OPTIONS, useValue: slaOptionsFrom(config) },
        SlaJob,
        ...(jobs ? [SlaEscalationProcessor] : []),
      ],
      exports: [SlaJob],
    };
  }
}
