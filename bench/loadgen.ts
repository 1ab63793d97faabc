// The load generator: its own process (forked by the benchmark, driven over the IPC channel), sending
// pre-encoded OTLP/HTTP protobuf requests over keep-alive connections.
//   closed loop: `concurrency` requests always in flight, for `durationMs` (throughput, CPU per span);
//   open loop:   requests started on a fixed schedule (`ratePerSecond`), for `durationMs` (latency).
// Latency is send → response fully read, per request, measured here with performance.now().
// With a placeholder as second argument (the cardinality storm), every send is a copy of its body with
// each occurrence of the placeholder overwritten by the next value of a counter that runs for the whole
// life of the process, so no two spans ever carry the same id.
//   node bench/loadgen.ts PAYLOAD_FILE [PLACEHOLDER]   (forked by the benchmark, driven over IPC)
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { countSpans } from './otlp-wire.ts';
import { patchUserIds, placeholderOffsets, readPayloadFile } from './payload.ts';

export type LoadRequest =
  | {
      readonly type: 'run';
      readonly id: number;
      readonly url: string;
      readonly mode: 'closed';
      readonly concurrency: number;
      readonly durationMs: number;
    }
  | {
      readonly type: 'run';
      readonly id: number;
      readonly url: string;
      readonly mode: 'open';
      readonly ratePerSecond: number;
      readonly durationMs: number;
    }
  | { readonly type: 'exit' };

export interface LoadResult {
  readonly requests: number;
  readonly okRequests: number;
  /** Spans in the requests answered 200: what the target accepted and must deliver. */
  readonly okSpans: number;
  /** Responses by HTTP status, e.g. { "200": 812, "503": 3 }. */
  readonly statuses: Readonly<Record<string, number>>;
  /** Requests that got no response (connection error, timeout). */
  readonly errors: number;
  readonly firstError?: string;
  readonly elapsedMs: number;
  /** Latencies of the 200 responses, ms (open loop only). */
  readonly latenciesMs: readonly number[];
  /** Open loop: sends that started more than 5 ms behind their schedule. */
  readonly lateSends: number;
  /** Distinct ids written over the placeholder (0 without one): in every request sent, in those answered 200. */
  readonly idsSent: number;
  readonly idsAccepted: number;
}

export type LoadMessage =
  | {
      readonly type: 'ready';
      readonly bodies: number;
      readonly spansPerBody: readonly number[];
      /** Placeholders per body (all 0 without a placeholder). */
      readonly idsPerBody: readonly number[];
    }
  | { readonly type: 'result'; readonly id: number; readonly result: LoadResult };

const REQUEST_TIMEOUT_MS = 15_000;

const payloadPath = process.argv[2];
if (!payloadPath) throw new Error('usage: loadgen.ts PAYLOAD_FILE (run by the benchmark over IPC)');
const bodies = readPayloadFile(payloadPath);
const spansPerBody = bodies.map((b) => countSpans(b));
const placeholder = process.argv[3];
const idOffsets = bodies.map((b) => (placeholder ? placeholderOffsets(b, placeholder) : []));
/** The next id to write; never reset, so ids are distinct across every run of this process. */
let nextId = 0;

class Run {
  requests = 0;
  okRequests = 0;
  okSpans = 0;
  errors = 0;
  firstError: string | undefined;
  lateSends = 0;
  idsSent = 0;
  idsAccepted = 0;
  readonly statuses: Record<string, number> = {};
  readonly latenciesMs: number[] = [];
  readonly #agent: Agent;
  readonly #url: URL;
  #next = 0;

  constructor(url: string, sockets: number) {
    this.#url = new URL(url);
    // FIFO reuse cycles through every open connection, so none sits idle until the server's keep-alive
    // timeout (5 s in Node) closes it just as a request is written to it ("socket hang up").
    this.#agent = new Agent({
      keepAlive: true,
      maxSockets: sockets,
      maxFreeSockets: sockets,
      scheduling: 'fifo',
    });
  }

  /** Sends the next body; resolves when the response is fully read (never rejects). */
  send(recordLatency: boolean): Promise<void> {
    const i = this.#next++ % bodies.length;
    const offsets = idOffsets[i] ?? [];
    let body = bodies[i] as Buffer;
    if (offsets.length > 0) {
      // A copy: the socket may still be reading the previous send's buffer when the next is patched.
      body = Buffer.from(body);
      nextId = patchUserIds(body, offsets, nextId);
      this.idsSent += offsets.length;
    }
    const spans = spansPerBody[i] ?? 0;
    this.requests++;
    return new Promise<void>((resolve) => {
      const started = performance.now();
      const req = request(
        {
          agent: this.#agent,
          host: this.#url.hostname,
          port: this.#url.port,
          path: this.#url.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length },
        },
        (res) => {
          res.on('data', () => {});
          res.on('end', () => {
            const status = String(res.statusCode ?? 0);
            this.statuses[status] = (this.statuses[status] ?? 0) + 1;
            if (res.statusCode === 200) {
              this.okRequests++;
              this.okSpans += spans;
              this.idsAccepted += offsets.length;
              if (recordLatency) this.latenciesMs.push(performance.now() - started);
            }
            resolve();
          });
        },
      );
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('request timed out')));
      req.on('error', (err) => {
        this.errors++;
        this.firstError ??= err.message;
        resolve();
      });
      req.end(body);
    });
  }

  result(elapsedMs: number): LoadResult {
    this.#agent.destroy();
    return {
      requests: this.requests,
      okRequests: this.okRequests,
      okSpans: this.okSpans,
      statuses: this.statuses,
      errors: this.errors,
      ...(this.firstError ? { firstError: this.firstError } : {}),
      elapsedMs,
      latenciesMs: this.latenciesMs,
      lateSends: this.lateSends,
      idsSent: this.idsSent,
      idsAccepted: this.idsAccepted,
    };
  }
}

async function closedLoop(url: string, concurrency: number, durationMs: number): Promise<LoadResult> {
  const run = new Run(url, concurrency);
  const start = performance.now();
  const end = start + durationMs;
  const worker = async () => {
    while (performance.now() < end) await run.send(false);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return run.result(performance.now() - start);
}

async function openLoop(url: string, ratePerSecond: number, durationMs: number): Promise<LoadResult> {
  // More connections than the rate needs, so a slow response never delays the next scheduled send.
  const run = new Run(url, 32);
  const interval = 1000 / ratePerSecond;
  const total = Math.floor((durationMs / 1000) * ratePerSecond);
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    else if (wait < -5) run.lateSends++;
    inflight.push(run.send(true));
  }
  await Promise.all(inflight);
  return run.result(performance.now() - start);
}

const send = (m: LoadMessage) => process.send?.(m);

process.on('message', (m: LoadRequest) => {
  if (m.type === 'exit') {
    process.disconnect?.();
    return;
  }
  const job =
    m.mode === 'closed'
      ? closedLoop(m.url, m.concurrency, m.durationMs)
      : openLoop(m.url, m.ratePerSecond, m.durationMs);
  void job.then((result) => send({ type: 'result', id: m.id, result }));
});

send({ type: 'ready', bodies: bodies.length, spansPerBody, idsPerBody: idOffsets.map((o) => o.length) });
