import { INestApplication } from '@nestjs/common';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { createSalesApp } from '../apps/sales-api/src/sales-app';
import { createSupportApp } from '../apps/support-api/src/support-app';
import { createBaselineApp } from './baseline/baseline-app';
import { CpuProfile, summarizeProfile } from './lib/cpu-profile';
import { flightsOf, StatementLog } from './lib/statement-log';
import type { AppCommand, AppKind, AppReply, AppSpec } from './lib/app-process';

/**
 * One app under test in its own process (forked by AppProcess): each side gets its own event
 * loop, and the baseline's process never runs AsyncLocalStorage (which, once used anywhere in a
 * Node 20 process, turns on promise hooks for every promise of that process).
 */
let app: INestApplication | undefined;
let inFlight = 0;
const statements = new StatementLog();
let mark = 0;
let session: Session | undefined;

async function create(kind: AppKind, spec: AppSpec): Promise<INestApplication> {
  const common = {
    databaseUrl: spec.databaseUrl,
    jwtSecret: spec.jwtSecret,
    poolSize: spec.poolSize,
  };
  if (kind === 'baseline')
    return createBaselineApp({ ...common, naiveJwt: spec.naiveJwt, cls: spec.cls, rls: spec.rls });
  const cfg = {
    ...common,
    pipeline: spec.pipeline,
    tenantStatusTtlMs: spec.tenantStatusTtlMs,
    preparedSettings: spec.preparedSettings,
    logger: ['error', 'warn'] as ('error' | 'warn')[],
  };
  return kind === 'support' ? createSupportApp(cfg) : createSalesApp(cfg);
}

async function handle(cmd: AppCommand): Promise<Omit<AppReply, 'id'>> {
  switch (cmd.type) {
    case 'start': {
      if (cmd.spec.countStatements) statements.install();
      app = await create(cmd.spec.kind, cmd.spec);
      const server = app.getHttpServer() as import('node:http').Server;
      // In flight until the handler ends its response (a socket the load generator closed at the
      // end of a run does not end the handler, which still holds its pooled connection).
      server.on('request', (_req, res) => {
        inFlight++;
        const end = res.end.bind(res) as (...args: unknown[]) => typeof res;
        let ended = false;
        res.end = ((...args: unknown[]) => {
          if (!ended) inFlight--;
          ended = true;
          return end(...args);
        }) as typeof res.end;
      });
      await app.listen(0, '127.0.0.1');
      return { ok: true, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
    }
    case 'cpu': {
      const u = process.cpuUsage();
      return { ok: true, cpuUs: u.user + u.system };
    }
    case 'mark':
      mark = statements.statements.length;
      return { ok: true };
    case 'take': {
      await new Promise((r) => setTimeout(r, 20));
      const sent = statements.statements.slice(mark);
      return { ok: true, statements: sent.map((s) => s.text), flights: flightsOf(sent) };
    }
    case 'profile-start':
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 200 });
      await session.post('Profiler.start');
      return { ok: true };
    case 'profile-stop': {
      const { profile } = (await session!.post('Profiler.stop')) as unknown as {
        profile: CpuProfile;
      };
      session!.disconnect();
      if (cmd.file) writeFileSync(cmd.file, JSON.stringify(profile));
      return { ok: true, profile: summarizeProfile(profile, cmd.requests ?? 1) };
    }
    case 'close': {
      // Let requests the load generator abandoned finish before the pool closes.
      for (let i = 0; inFlight > 0 && i < 200; i++) await new Promise((r) => setTimeout(r, 50));
      await app?.close();
      statements.uninstall();
      return { ok: true };
    }
  }
}

process.on('message', (cmd: AppCommand) => {
  handle(cmd).then(
    (reply) => process.send!({ ...reply, id: cmd.id }),
    (error: unknown) =>
      process.send!({ id: cmd.id, ok: false, error: String((error as Error)?.stack ?? error) }),
  );
});
process.on('disconnect', () => process.exit(0));
