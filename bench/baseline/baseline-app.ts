import {
  BadRequestException,
  INestApplication,
  Module,
  ValidationError,
  ValidationPipe,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ClsModule } from 'nestjs-cls';
// The CLS-only baseline mounts exactly the library's middleware options (an internal module).
// eslint-disable-next-line no-restricted-imports
import { clsMiddleware } from '../../libs/tenancy/src/tenancy.module-definition';
import { Deal } from '../../apps/sales-api/src/deals/deal.entity';
import { Ticket } from '../../apps/support-api/src/tickets/ticket.entity';
import { BaselineAuthGuard, BaselineJwt } from './baseline-auth.guard';
import { BaselineDealsController } from './baseline-deals.controller';
import { BASELINE_RLS, BaselineQueries } from './baseline-rls';
import { BaselineTicketsController } from './baseline-tickets.controller';

/** The baseline's configuration: the same knobs as the real apps, minus pipelining. */
export interface BaselineConfig {
  /** A role that bypasses RLS (the baseline filters by hand). */
  databaseUrl: string;
  jwtSecret: string;
  poolSize: number;
  /** The secret string handed to passport-jwt as is (re-parsed per verify) instead of a key built once. */
  naiveJwt?: boolean;
  /**
   * nestjs-cls's middleware mounted with TenancyModule's own options (`clsMiddleware()`) and
   * nothing else of the library: what the CLS the library is built on costs by itself
   * (`bench/ab.ts --with-cls`). Never in the targets' baseline.
   */
  cls?: boolean;
  /**
   * The ticket routes under row-level security, written by hand (BaselineQueries): `databaseUrl`
   * is then the app role's, each route's queries run in `DataSource.transaction()` after the
   * library's settings statement, and `GET /deals` is not mounted. What RLS with a transaction
   * per request costs without the library (`bench/ab.ts --with-rls`). Never in the targets'
   * baseline.
   */
  rls?: boolean;
}

function messages(errors: ValidationError[]): string[] {
  return errors.flatMap((e) => [
    ...Object.values(e.constraints ?? {}),
    ...messages(e.children ?? []),
  ]);
}

/**
 * The app a team writes without the library: support-api's ticket routes and sales-api's
 * `GET /deals` in one Nest app, same DTOs, same ValidationPipe settings as `configureHttpApp`,
 * plain TypeORM (default pg client: no pipeline) with the same pool size, its JWT key built once as
 * the library builds its own (equal footing; `naiveJwt` for the string secret instead).
 */
export async function createBaselineApp(config: BaselineConfig): Promise<INestApplication> {
  const jwt = new BaselineJwt(
    config.jwtSecret,
    ['agent', 'admin', 'rep', 'manager'],
    config.naiveJwt,
  );
  @Module({
    imports: [
      TypeOrmModule.forRoot({
        type: 'postgres',
        url: config.databaseUrl,
        entities: [Ticket, Deal],
        synchronize: false,
        applicationName: 'bench-baseline',
        extra: { max: config.poolSize },
      }),
      TypeOrmModule.forFeature([Ticket, Deal]),
      ...(config.cls ? [ClsModule.forRoot({ global: true, middleware: clsMiddleware() })] : []),
    ],
    controllers: config.rls
      ? [BaselineTicketsController]
      : [BaselineTicketsController, BaselineDealsController],
    providers: [
      { provide: BaselineJwt, useValue: jwt },
      { provide: BASELINE_RLS, useValue: config.rls === true },
      BaselineAuthGuard,
      BaselineQueries,
    ],
  })
  class BaselineAppModule {}

  const app = await NestFactory.create(BaselineAppModule, { logger: false, abortOnError: false });
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: (errors) => new BadRequestException(messages(errors)),
    }),
  );
  await app.init();
  const close = app.close.bind(app);
  app.close = async () => {
    await close();
    jwt.close();
  };
  return app;
}
