/** A writable socket that can hold writes back (net.Socket, tls.TLSSocket). */
interface Corkable {
  cork(): void;
  uncork(): void;
}

/** A socket's current hold: released once, by whichever comes first. */
interface Hold {
  release(): void;
  /** Whether a release on the next tick is already scheduled. */
  tick: boolean;
}

const holds = new WeakMap<Corkable, Hold>();

function socketOf(client: unknown): Corkable | undefined {
  const stream = (client as { connection?: { stream?: Partial<Corkable> } })?.connection?.stream;
  if (typeof stream?.cork !== 'function' || typeof stream.uncork !== 'function') return undefined;
  return stream as Corkable;
}

function hold(client: unknown, until: 'tick' | 'idle'): void {
  const socket = socketOf(client);
  if (!socket) return;
  const current = holds.get(socket);
  if (current) {
    if (until === 'tick' && !current.tick) {
      current.tick = true;
      process.nextTick(current.release);
    }
    return;
  }
  const h: Hold = {
    tick: until === 'tick',
    release: () => {
      if (holds.get(socket) !== h) return;
      holds.delete(socket);
      socket.uncork();
    },
  };
  holds.set(socket, h);
  socket.cork();
  if (h.tick) process.nextTick(h.release);
  else setImmediate(h.release);
}

/**
 * Holds a pipelined pg client's socket writes until `process.nextTick`, so every statement queued
 * before then goes out in one write. pg writes each protocol message of a statement (Parse, Bind,
 * Describe, Execute, Sync) with its own `write()`; BEGIN + settings + the first query would cost a
 * dozen calls and several system calls and packets for PostgreSQL to read. A tick scheduled from a
 * promise callback runs after the whole current chain of promise callbacks, which is where TypeORM
 * hands the statement to pg, so the flight leaves together. Nothing waits longer than that tick
 * and the order of the messages is unchanged. A client without a corkable socket is left alone.
 */
export function holdWritesUntilNextTick(client: unknown): void {
  hold(client, 'tick');
}

/**
 * Holds the socket's writes until the event loop's current I/O phase is over (`setImmediate`), or
 * until a flight queued on it meanwhile leaves (next tick), whichever is first. Used for the
 * COMMIT of a read-only transaction that nobody waits for: when the pool hands the connection
 * straight to a waiting request, the COMMIT goes out in the same write as that request's BEGIN,
 * settings and first query (one system call and one wake-up of the backend instead of two).
 */
export function holdWritesUntilIdle(client: unknown): void {
  hold(client, 'idle');
}
