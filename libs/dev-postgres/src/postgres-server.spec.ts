import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { embeddedStartFailure } from './postgres-server';

describe('embeddedStartFailure', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pg-start-failure-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('names the running server that holds the data directory', () => {
    writeFileSync(join(dir, 'postmaster.pid'), `${process.pid}\n${dir}\n`);
    expect(embeddedStartFailure(dir, 5555, ['FATAL: lock file exists'])).toBe(
      `embedded PostgreSQL did not start: its data directory ${dir} is in use by another server (pid ${process.pid}). Is another \`npm run demo\` running? Stop it first.`,
    );
  });

  it('gives the last log lines when no other server holds the data (a stale pid file too)', () => {
    writeFileSync(join(dir, 'postmaster.pid'), `2147483646\n${dir}\n`);
    expect(embeddedStartFailure(dir, 5555, ['', 'FATAL: could not bind', 'exiting'])).toBe(
      `embedded PostgreSQL did not start on port 5555 (data: ${dir}); its last log lines:\n  FATAL: could not bind\n  exiting`,
    );
    expect(embeddedStartFailure(dir, 5555, [])).toBe(
      `embedded PostgreSQL did not start on port 5555 (data: ${dir}); set DEBUG_POSTGRES=1 to see its log`,
    );
  });
});
