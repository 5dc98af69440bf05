/** Refusals the library's guards threw while handling a broker message (never HTTP requests). */
const refusals = new WeakSet<object>();

/** Marks `error`, thrown by a library guard on a message, for `TenancyExceptionFilter`. */
export function markMessageRefusal(error: unknown): void {
  if (error && typeof error === 'object') refusals.add(error);
}

/**
 * `instanceof` target for `@Catch()`: a 401/403 a library guard threw on a broker message. On HTTP
 * those pass on to the app's filters as before; on a message the library maps and logs them.
 */
export abstract class MessageRefusal {
  static [Symbol.hasInstance](error: unknown): boolean {
    return !!error && typeof error === 'object' && refusals.has(error);
  }
}
