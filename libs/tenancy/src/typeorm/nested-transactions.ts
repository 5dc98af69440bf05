import { AsyncLocalStorage } from 'node:async_hooks';
import { TenantTransactionClosedError } from '../errors/tenancy-errors';

/** A promise and the function that resolves it. */
export interface Signal {
  promise: Promise<void>;
  resolve(): void;
}

/** A fresh unresolved {@link Signal}. */
export function signal(): Signal {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** A nested transaction (savepoint) open on the scope's connection. */
export interface NestedLevel {
  /** The runner's transaction depth once this level is started. */
  depth: number;
  /** Whether its callback was entered (EntityManager.transaction); a manual start is not. */
  entered: boolean;
  /** Resolved once its SAVEPOINT was sent (or failed). */
  started: Signal;
  /** Resolved once it was committed or rolled back. */
  closed: Signal;
}

/** The nested transaction whose callback the current code runs in, if any. */
const nesting = new AsyncLocalStorage<NestedLevel>();

/**
 * Keeps the savepoints of one scope's connection properly nested when code starts several nested
 * transactions at once (two `dataSource.transaction()` in one `Promise.all`): a child of the
 * innermost open level starts right away, a sibling waits until the open ones close. TypeORM numbers
 * savepoints by depth on the shared runner, so interleaved siblings would release each other's.
 */
export class NestedTransactions {
  private readonly levels: NestedLevel[] = [];
  /** A level just started whose callback has not been entered yet. */
  private pending?: NestedLevel;

  /**
   * @param ended resolved when the scope ends: a level waiting for its turn gives up
   * @param isEnded whether the scope has ended
   */
  constructor(
    private readonly ended: Signal,
    private readonly isEnded: () => boolean,
  ) {}

  /** The level whose callback the caller runs in (read before any await of a start). */
  current(): NestedLevel | undefined {
    return nesting.getStore();
  }

  /**
   * Claims the next level for a transaction started from `parent`, once it may send its SAVEPOINT:
   * right away when `parent` is the innermost open level or after a manual `startTransaction()`;
   * otherwise once the open ones close. The check and the claim happen without a pause between.
   */
  async claim(parent: NestedLevel | undefined, depth: () => number): Promise<NestedLevel> {
    for (;;) {
      if (this.isEnded()) throw new TenantTransactionClosedError();
      const innermost = this.levels[this.levels.length - 1];
      if (!innermost || innermost === parent) return this.push(depth());
      if (!innermost.entered) {
        // EntityManager.transaction() enters its callback within the microtasks after the
        // SAVEPOINT; a level still not entered a macrotask later was started by hand, and what
        // follows nests in it as TypeORM would nest it.
        await innermost.started.promise;
        await new Promise((resolve) => setImmediate(resolve));
        if (this.isEnded()) throw new TenantTransactionClosedError();
        if (!innermost.entered && this.levels[this.levels.length - 1] === innermost) {
          return this.push(depth());
        }
        continue;
      }
      await Promise.race([innermost.closed.promise, this.ended.promise]);
    }
  }

  /** Marks `level` as started and waiting for its callback (the next read of the runner's manager). */
  started(level: NestedLevel): void {
    level.started.resolve();
    this.pending = level;
    setImmediate(() => {
      if (this.pending === level) this.pending = undefined;
    });
  }

  /** Enters the pending level's callback: code run from here on nests in it. */
  enterPending(): void {
    const level = this.pending;
    if (!level) return;
    this.pending = undefined;
    level.entered = true;
    nesting.enterWith(level);
  }

  /** Closes the levels at `depth` and deeper (a commit or rollback of that savepoint). */
  close(depth: number): void {
    while (this.levels.length && this.levels[this.levels.length - 1].depth >= depth) {
      this.levels.pop()!.closed.resolve();
    }
  }

  private push(depth: number): NestedLevel {
    const level: NestedLevel = {
      depth: depth + 1,
      entered: false,
      started: signal(),
      closed: signal(),
    };
    this.levels.push(level);
    return level;
  }
}
