import { createConnection, createServer, Server, Socket } from 'node:net';

/**
 * A TCP proxy in front of PostgreSQL that holds every byte the server sends for `delayMs` before
 * passing it on (client-to-server bytes pass at once). Each round trip a client waits for then
 * costs `delayMs` more; statements pipelined into one flight share one delay. Comparing a
 * request's latency at two delays gives the round trips it waited for: (L2 - L1) / (D2 - D1).
 */
export class DelayProxy {
  delayMs = 0;
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** Listens on a free port of 127.0.0.1 and returns it. */
  async listen(): Promise<number> {
    this.server = createServer((client) => this.pipe(client));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  private pipe(client: Socket): void {
    const upstream = createConnection(this.targetPort, this.targetHost);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    this.sockets.add(client).add(upstream);
    const queue: { at: number; chunk: Buffer }[] = [];
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      timer = undefined;
      const now = Date.now();
      while (queue.length && queue[0].at <= now) client.write(queue.shift()!.chunk);
      if (queue.length) timer = setTimeout(flush, queue[0].at - now);
    };
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => {
      if (!this.delayMs && !queue.length) {
        client.write(chunk);
        return;
      }
      queue.push({ at: Date.now() + this.delayMs, chunk });
      timer ??= setTimeout(flush, this.delayMs);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
      if (timer) clearTimeout(timer);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }
}
