import { DynamicModule, Module } from '@nestjs/common';
import { SupportApiConfig } from '../support-api.config';
import { SLA_OPTIONS, slaOptionsFrom } from './sla-options';
import { SlaJob } from './sla.job';

/** The SLA job (needs ScheduleModule and TenancyModule in the root module). */
@Module({})
export class SlaModule {
  static forRoot(config: SupportApiConfig): DynamicModule {
    return {
      module: SlaModule,
      providers: [{ provide: SLA_OPTIONS, useValue: slaOptionsFrom(config) }, SlaJob],
      exports: [SlaJob],
    };
  }
}
