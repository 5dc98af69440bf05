import type { ExecutionContext } from '@nestjs/common';

/** What the guard reads from a broker message: the token header and a request id. */
export interface MessageMetadata {
  /** The `authorization` header (`Bearer <token>`), when the message carries one as text. */
  authorization?: string;
  /** The `x-request-id` header, when the message carries one as text. */
  requestId?: string;
}

type Getter = (name: string) => unknown;

/** A header value as text: strings as they are, Buffers (Kafka) decoded, the first of a list (gRPC). */
function text(value: unknown): string | undefined {
  const first = Array.isArray(value) ? (value as unknown[])[0] : value;
  if (typeof first === 'string') return first;
  if (Buffer.isBuffer(first)) return first.toString('utf8');
  return undefined;
}

/** A case-insensitive lookup in a plain header object (RMQ, Kafka, MQTT v5 user properties). */
function fromRecord(record: unknown): Getter | undefined {
  if (!record || typeof record !== 'object') return undefined;
  const entries = Object.entries(record as Record<string, unknown>);
  return (name) => entries.find(([key]) => key.toLowerCase() === name)?.[1];
}

/** A lookup through a `get(name)` method (NATS headers, gRPC Metadata). */
function fromGetter(source: unknown): Getter | undefined {
  const get = (source as { get?: unknown } | undefined)?.get;
  return typeof get === 'function' ? (name) => (get as Getter).call(source, name) : undefined;
}

/**
 * NATS headers (`MsgHdrs`, whose `get()` matches names exactly), looked up case-insensitively over
 * their `keys()`, so `Authorization` is read as on HTTP and the other transports.
 */
function fromNatsHeaders(headers: unknown): Getter | undefined {
  const get = fromGetter(headers);
  const keys = call(headers, 'keys');
  if (!get || !Array.isArray(keys)) return get;
  return (name) => {
    const key = (keys as unknown[]).find((k) => typeof k === 'string' && k.toLowerCase() === name);
    return typeof key === 'string' ? get(key) : undefined;
  };
}

/** Calls `obj[method]()` when it is a function; the transports' contexts are read by duck typing. */
function call(obj: unknown, method: string): unknown {
  const fn = (obj as Record<string, unknown> | undefined)?.[method];
  return typeof fn === 'function' ? (fn as () => unknown).call(obj) : undefined;
}

/**
 * The header lookup of the message being handled, by transport: RabbitMQ (`properties.headers`),
 * NATS (`getHeaders()`), Kafka (`message.headers`), MQTT v5 (`properties.userProperties`) and gRPC
 * (the call's Metadata). Read by duck typing, so the library imports no transport package.
 */
function headersOf(context: ExecutionContext): Getter | undefined {
  const rpc = context.switchToRpc().getContext<unknown>();
  const message = call(rpc, 'getMessage') as
    { properties?: { headers?: unknown }; headers?: unknown } | undefined;
  if (message?.properties) return fromRecord(message.properties.headers);
  if (message && 'headers' in message) return fromRecord(message.headers);
  const nats = call(rpc, 'getHeaders');
  if (nats) return fromNatsHeaders(nats);
  const packet = call(rpc, 'getPacket') as
    { properties?: { userProperties?: unknown } } | undefined;
  if (packet) return fromRecord(packet.properties?.userProperties);
  return fromGetter(rpc);
}

/** The token header and request id of the message an `rpc` ExecutionContext is handling. */
export function messageMetadata(context: ExecutionContext): MessageMetadata {
  const get = headersOf(context);
  if (!get) return {};
  return { authorization: text(get('authorization')), requestId: text(get('x-request-id')) };
}
