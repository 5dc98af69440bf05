import { Client } from 'pg';

type QueryFn = (...args: unknown[]) => unknown;

/** One statement a pg Client sent, and the flight it went out in. */
export interface LoggedStatement {
  text: string;
  client: number;
  /** Flight number on its client: a statement sent while none is pending starts a new flight. */
  flight: number;
}

let nextClientId = 0;
const CLIENT_ID = Symbol('bench-client-id');
const PENDING = Symbol('bench-pending');

/**
 * Records every statement any pg Client of this process sends while installed (a
 * `Client.prototype.query` hook, like test/support/statement-counter.ts) and groups them into
 * flights: statements issued while an earlier one of the same client is still unanswered were
 * pipelined behind it and travel in the same flight.
 */
export class StatementLog {
  readonly statements: LoggedStatement[] = [];
  private original?: QueryFn;
  private flights = new Map<number, number>();

  install(): this {
    const proto = Client.prototype as unknown as { query: QueryFn };
    const original = proto.query;
    this.original = original;
    const log = this.statements;
    const flights = this.flights;
    proto.query = function (this: Record<symbol, number>, ...args: unknown[]) {
      const first = args[0] as string | { text?: string } | undefined;
      const text = typeof first === 'string' ? first : (first?.text ?? '<custom query>');
      const id = (this[CLIENT_ID] ??= ++nextClientId);
      const pending = this[PENDING] ?? 0;
      if (pending === 0) flights.set(id, (flights.get(id) ?? 0) + 1);
      this[PENDING] = pending + 1;
      log.push({ text, client: id, flight: flights.get(id)! });
      const done = () => {
        this[PENDING]--;
      };
      const last = args[args.length - 1];
      if (typeof last === 'function') {
        args[args.length - 1] = (...cb: unknown[]) => {
          done();
          return (last as QueryFn)(...cb);
        };
        return original.apply(this, args);
      }
      const result = original.apply(this, args) as Promise<unknown> | undefined;
      if (result && typeof result.then === 'function') {
        result.then(done, done);
      } else done();
      return result;
    };
    return this;
  }

  uninstall(): void {
    if (this.original) (Client.prototype as unknown as { query: QueryFn }).query = this.original;
  }

  /** Runs `fn` and returns the statements sent meanwhile (and until `settleMs` after). */
  async during(fn: () => Promise<unknown>, settleMs = 20): Promise<LoggedStatement[]> {
    const from = this.statements.length;
    await fn();
    await new Promise((r) => setTimeout(r, settleMs));
    return this.statements.slice(from);
  }
}

/** Statements and flights of a request's statements. */
export function flightsOf(statements: LoggedStatement[]): number {
  return new Set(statements.map((s) => `${s.client}:${s.flight}`)).size;
}

/** A short form of a statement for tables: its first words. */
export function shortStatement(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  if (/^SELECT (settings\.\*, )?set_config/.test(t)) return 'SELECT set_config(...)';
  const m =
    /^(START TRANSACTION|COMMIT|ROLLBACK|BEGIN|INSERT INTO \S+|UPDATE \S+|DELETE FROM \S+|SELECT)/i.exec(
      t,
    );
  if (!m) return t.slice(0, 30);
  if (/^SELECT$/i.test(m[1])) {
    const from = /FROM ("?[\w.]+"?(?:\."?\w+"?)?)/i.exec(t);
    return `SELECT ... FROM ${from ? from[1].replace(/"/g, '') : '?'}`;
  }
  return m[1].replace(/"/g, '');
}
