/** A writable socket that can hold writes back (net.Socket, tls.TLSSocket). */
interface Corkable {
  cork(): void;
  uncork(): void;
}

/** Sockets corked until the next tick. */
const held = new WeakSet<Corkable>();

/**
 * Holds a pipelined pg client's socket writes until `process.nextTick`, so every statement queued
 * before then goes out in one write. pg writes each protocol message of a statement (Parse, Bind,
 * Describe, Execute, Sync) with its own `write()`; BEGIN + settings + the first query would cost a
 * dozen system calls and as many packets for PostgreSQL to read. A tick scheduled from a promise
 * callback runs after the whole current chain of promise callbacks, which is where TypeORM hands
 * the statement to pg, so the flight leaves together. Nothing waits longer than that tick and the
 * order of the messages is unchanged. A client without a corkable socket is left alone.
 */
export function holdWritesUntilNextTick(client: unknown): void {
  const stream = (client as { connection?: { stream?: Partial<Corkable> } })?.connection?.stream;
  if (typeof stream?.cork !== 'function' || typeof stream.uncork !== 'function') return;
  const socket = stream as Corkable;
  if (held.has(socket)) return;
  held.add(socket);
  socket.cork();
  process.nextTick(() => {
    held.delete(socket);
    socket.uncork();
  });
}
