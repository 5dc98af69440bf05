import { Worker } from 'node:worker_threads';

/** One HTTP request autocannon sends (the list is cycled through per connection). */
export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** A fixed-concurrency load of `seconds` against `url`. */
export interface LoadSpec {
  url: string;
  connections: number;
  seconds: number;
  requests: LoadRequest[];
  /** Send exactly this many requests instead of loading for `seconds`. */
  amount?: number;
}

/** What one load run measured; latencies are in ms, one per 2xx response. */
export interface LoadResult {
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  rps: number;
  latencies: Float64Array;
  statusCodes: Record<string, number>;
}

/**
 * autocannon runs in a worker thread, so the load generator does not share the event loop with
 * the app under test (which runs in this process). Latencies are taken from autocannon's per
 * response event (sub-millisecond, unlike its 1 ms histogram).
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const autocannon = require(workerData.autocannon);
const latencies = [];
let non2xx = 0;
const instance = autocannon(workerData.opts, (err, result) => {
  if (err) return parentPort.postMessage({ error: String((err && err.stack) || err) });
  const codes = {};
  for (const [k, v] of Object.entries(result.statusCodeStats || {})) codes[k] = v.count;
  parentPort.postMessage({
    ok: latencies.length,
    non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    seconds: result.duration,
    latencies: Float64Array.from(latencies),
    statusCodes: codes,
  });
});
instance.on('response', (client, statusCode, bytes, responseTime) => {
  if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
  else non2xx++;
});
`;

/** Runs one load in a worker thread and returns what it measured. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const opts = {
    url: spec.url,
    connections: spec.connections,
    duration: spec.seconds,
    ...(spec.amount ? { amount: spec.amount } : {}),
    requests: spec.requests,
    timeout: 30,
  };
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, {
      eval: true,
      execArgv: [],
      workerData: { autocannon: require.resolve('autocannon'), opts },
    });
    worker.once('error', reject);
    worker.once('message', (msg: Omit<LoadResult, 'rps'> & { error?: string }) => {
      void worker.terminate();
      if (msg.error) return reject(new Error(msg.error));
      resolve({ ...msg, rps: msg.ok / msg.seconds });
    });
  });
}
