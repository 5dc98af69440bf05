import { Socket } from 'node:net';
import { Client } from 'pg';
import { contextStatementFromEnv } from '@app/demo-kit';
import { testUrl } from './test-env';

/** How many statements write the context in this run (TENANCY_CONTEXT_STATEMENT): 1, or 4 SET LOCALs. */
export const SETTINGS_STATEMENTS = contextStatementFromEnv() === 'set-local' ? 4 : 1;

/** Whether a statement writes the context: the set_config() form or one of the SET LOCAL form. */
export function isSettingsStatement(sql: string): boolean {
  return /^SELECT (settings\.\*, )?set_config\(/.test(sql) || /^SET LOCAL "app"\./.test(sql);
}

type QueryFn = (...args: unknown[]) => unknown;

/** Records every statement any pg Client in this process sends, while installed. */
export class StatementCounter {
  readonly statements: string[] = [];
  private original?: QueryFn;

  install(): this {
    const proto = Client.prototype as unknown as { query: QueryFn };
    const original = proto.query;
    const statements = this.statements;
    this.original = original;
    proto.query = function (this: unknown, ...args: unknown[]) {
      const first = args[0] as string | { text?: string } | undefined;
      statements.push(typeof first === 'string' ? first : (first?.text ?? '<custom query>'));
      return original.apply(this, args);
    };
    return this;
  }

  uninstall(): void {
    if (this.original) (Client.prototype as unknown as { query: QueryFn }).query = this.original;
  }

  /** Runs `fn` and returns the statements sent meanwhile. */
  async during(fn: () => Promise<unknown>): Promise<string[]> {
    const from = this.statements.length;
    await fn();
    return this.statements.slice(from);
  }
}

type WriteFn = (...args: unknown[]) => unknown;

/**
 * Counts the writes that reach sockets connected to the test database's port (each one a system
 * call and a packet for PostgreSQL to read), while `fn` runs and one turn of the event loop after.
 */
export async function socketWritesDuring(fn: () => Promise<unknown>): Promise<number> {
  const port = Number(new URL(testUrl('appUrl')).port || 5432);
  const proto = Socket.prototype as unknown as { _writeGeneric: WriteFn };
  const writeGeneric = proto._writeGeneric;
  let writes = 0;
  proto._writeGeneric = function (this: Socket, ...args: unknown[]) {
    if (this.remotePort === port) writes++;
    return writeGeneric.apply(this, args);
  };
  try {
    await fn();
    await new Promise((resolve) => setImmediate(resolve));
    return writes;
  } finally {
    proto._writeGeneric = writeGeneric;
  }
}
