import { connect } from 'node:net';

/** The demo's RabbitMQ: the url support-api consumes inbound emails from, or none, and a line saying which. */
export interface DemoAmqp {
  url?: string;
  note: string;
}

/** True when host:port accepts a TCP connection within a second. */
function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * AMQP_URL, or the local RabbitMQ (guest/guest on 127.0.0.1:5672) when it is reachable: with it,
 * support-api is a hybrid app that turns `inbound-email` messages into tickets. AMQP_URL=off
 * disables it.
 */
export async function demoAmqp(): Promise<DemoAmqp> {
  const fromEnv = process.env.AMQP_URL?.trim();
  if (fromEnv === 'off') return { note: 'RabbitMQ: off (AMQP_URL=off); inbound emails disabled.' };
  const url = fromEnv || 'amqp://guest:guest@127.0.0.1:5672';
  const { hostname, port } = new URL(url);
  if (!(await reachable(hostname, Number(port || 5672)))) {
    return {
      note: `RabbitMQ: not reachable at ${hostname}:${port || 5672}; inbound emails disabled.`,
    };
  }
  return {
    url,
    note: `RabbitMQ: ${hostname}:${port || 5672}; support-api consumes inbound emails (queue support.inbound-email, rejects in support.inbound-email.dead): POST /inbound-emails {"subject": "..."} queues one as the caller.`,
  };
}
