import { AsyncLocalStorage } from 'node:async_hooks';
import { createSecretKey, KeyObject } from 'node:crypto';
import { Client } from 'pg';

/**
 * Experiments: candidate changes to the library, tried without editing it, by patching the
 * packages it uses in the app's own process. Each names the change the library would make.
 */
export const PATCHES = {
  /**
   * jsonwebtoken tries `createPublicKey(secret)` on every verify when the secret is a string, and
   * falls back to a secret key only after that throws. Library change: turn `jwt.secret` into a
   * KeyObject once (`createSecretKey(Buffer.from(secret))`) before handing it to passport-jwt.
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
   * nestjs-cls's middleware by default also runs plugin hooks, saves req/res into the store and
   * resolves proxy providers, which does a `require()` and several awaits per request. Library
   * change: register ClsModule with `middleware: { ..., resolveProxyProviders: false,
   * initializePlugins: false, saveReq: false, saveRes: false }` (it uses none of them).
   */
  'cls-lean': () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module object itself
    const m = require('nestjs-cls/dist/src/lib/cls.options') as Record<string, unknown>;
    const Base = m.ClsMiddlewareOptions as new () => Record<string, unknown>;
    m.ClsMiddlewareOptions = class extends Base {
      constructor() {
        super();
        this.resolveProxyProviders = false;
        this.initializePlugins = false;
        this.saveReq = false;
        this.saveRes = false;
      }
    };
  },
  /**
   * The settings statement is parsed and planned by PostgreSQL on every request. Library change:
   * send it as a named prepared statement (`{ name: 'tenancy_settings', text, values }`): parsed
   * once per connection.
   */
  'prepared-settings': () => {
    const proto = Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
    const query = proto.query;
    proto.query = function (this: Client, config: unknown, values?: unknown, ...rest: unknown[]) {
      if (typeof config === 'string' && config.startsWith('SELECT set_config($1, $2, true)')) {
        return query.call(this, { name: 'tenancy_settings', text: config, values }, ...rest);
      }
      return query.call(this, config, values, ...rest);
    };
  },
  /**
   * In pipeline mode pg writes each statement's messages to the socket as it is queued, so one
   * flight costs several write syscalls. Library (or pg) change: cork the socket while queueing a
   * flight and uncork it once the first statement is queued (here: at setImmediate).
   */
  cork: () => {
    const proto = Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
    const query = proto.query;
    const corked = new WeakSet<object>();
    proto.query = function (this: Client & { pipeline?: boolean }, ...args: unknown[]) {
      const stream = (
        this as unknown as {
          connection?: { stream?: NodeJS.WritableStream & { cork(): void; uncork(): void } };
        }
      ).connection?.stream;
      if (this.pipeline && stream && !corked.has(stream)) {
        corked.add(stream);
        stream.cork();
        setImmediate(() => {
          corked.delete(stream);
          stream.uncork();
        });
      }
      return query.apply(this, args);
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
