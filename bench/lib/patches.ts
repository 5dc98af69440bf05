import { AsyncLocalStorage } from 'node:async_hooks';
import { createSecretKey, KeyObject } from 'node:crypto';

/**
 * Experiments: candidate changes to the library, tried without editing it, by patching the
 * packages it uses in the app's own process, and changes to the baseline that isolate a cost.
 * Applied since (no longer patches): one socket write per pipelined flight (cork), a lean
 * nestjs-cls middleware, the JWT key built once, the settings as a named prepared statement.
 */
export const PATCHES = {
  /**
   * Not a library change (the library does this since it was measured here): jsonwebtoken tries
   * `createPublicKey(secret)` on every verify when the secret is a string, and falls back to a
   * secret key only after that throws. Applied to the baseline, this puts it on an equal footing
   * with the library, which builds a KeyObject once.
   */
  'jwt-keyobject': () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module object itself
    const jwt = require('jsonwebtoken') as { verify: (...a: unknown[]) => unknown };
    const verify = jwt.verify;
    const keys = new Map<string, KeyObject>();
    jwt.verify = (token: unknown, secret: unknown, ...rest: unknown[]) => {
      if (typeof secret === 'string') {
        let key = keys.get(secret);
        if (!key) keys.set(secret, (key = createSecretKey(Buffer.from(secret))));
        secret = key;
      }
      return verify(token, secret, ...rest);
    };
  },
  /**
   * Not a change: what AsyncLocalStorage alone costs. On Node 20, once any AsyncLocalStorage is
   * entered, every promise of the process runs async_hooks init/before/after callbacks; nestjs-cls
   * (and so the library) needs one. Applied to the baseline, this isolates that share.
   */
  'als-hooks': () => {
    new AsyncLocalStorage<object>().enterWith({});
  },
} as const;

export type PatchName = keyof typeof PATCHES;

/** Applies the named patches (in this process). */
export function applyPatches(names: readonly PatchName[] = []): void {
  for (const name of names) {
    const patch = PATCHES[name];
    if (!patch) throw new Error(`unknown patch ${String(name)}`);
    patch();
  }
}
