// The pipeline benchmark's load generator: its own process (forked by bench/pipeline.bench.ts, driven
// over IPC), sending the generated OTLP/protobuf bodies over OTLP/HTTP (node:http, keep-alive) or
// OTLP/gRPC (@grpc/grpc-js, the bodies sent as they are with an identity serializer).
//   closed loop: `concurrency` requests always in flight, for `durationMs` (saturation);
//   open loop:   requests started on a fixed schedule (`ratePerSecond`), for `durationMs` (latency).
// Every send is a copy of its body with fresh trace ids (trace-ids.ts), so tail sampling never sees a
// trace id twice. Latency is send → response fully read, measured here with performance.now().
//   node bench/pipeline/loadgen.ts PAYLOAD_FILE   (forked by the benchmark, driven over IPC)
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, credentials, Metadata, status } from '@grpc/grpc-js';
import { EXPORT_METHOD } from '../../processors/src/exporters/otlpgrpc/sender.ts';
import { countSpans } from '../otlp-wire.ts';
import { readPayloadFile } from '../payload.ts';
import { traceIdOffsets, withGeneration } from './trace-ids.ts';

export type Protocol = 'http' | 'grpc';

interface RunBase {
  readonly type: 'run';
  readonly id: number;
  /** http: the traces URL; grpc: `host:port`. */
  readonly target: string;
  readonly protocol: Protocol;
  readonly durationMs: number;
}

export type PipelineLoadRequest =
  | (RunBase & { readonly mode: 'closed'; readonly concurrency: number })
  | (RunBase & { readonly mode: 'open'; readonly ratePerSecond: number })
  | { readonly type: 'exit' };

export interface PipelineLoadResult {
  readonly requests: number;
  readonly okRequests: number;
  /** Spans in the requests answered OK: what the target accepted and must deliver or count as sampled out. */
  readonly okSpans: number;
  /** Bytes of the requests answered OK. */
  readonly okBytes: number;
  /** Responses by HTTP status or gRPC status name, e.g. { "200": 812, "503": 3 } or { OK: 812 }. */
  readonly statuses: Readonly<Record<string, number>>;
  /** Requests that got no response (connection error, timeout). */
  readonly errors: number;
  readonly firstError?: string;
  readonly elapsedMs: number;
  /** Latencies of the OK responses, ms (open loop only). */
  readonly latenciesMs: readonly number[];
  /** Open loop: sends that started more than 5 ms behind their schedule. */
  readonly lateSends: number;
}

export type PipelineLoadMessage =
  | {
      readonly type: 'ready';
      readonly spansPerBody: readonly number[];
      readonly bytesPerBody: readonly number[];
    }
  | { readonly type: 'result'; readonly id: number; readonly result: PipelineLoadResult };

const REQUEST_TIMEOUT_MS = 30_000;

const payloadPath = process.argv[2];
if (!payloadPath) throw new Error('usage: loadgen.ts PAYLOAD_FILE (run by the benchmark over IPC)');
const bodies = readPayloadFile(payloadPath);
const spansPerBody = bodies.map((b) => countSpans(b));
const offsets = bodies.map((b) => traceIdOffsets(b));
/** Sends so far over the process's life: the generation of the next send's trace ids. */
let generation = 0;

type Sender = (body: Buffer, done: (status: string, ok: boolean, error?: string) => void) => void;

function httpSender(url: string, sockets: number): { send: Sender; close(): void } {
  const u = new URL(url);
  // FIFO reuse keeps every connection busy, so none idles into the server's keep-alive timeout.
  const agent = new Agent({
    keepAlive: true,
    maxSockets: sockets,
    maxFreeSockets: sockets,
    scheduling: 'fifo',
  });
  const send: Sender = (body, done) => {
    const req = request(
      {
        agent,
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length },
      },
      (res) => {
        res.on('data', () => {});
        res.on('end', () => done(String(res.statusCode ?? 0), res.statusCode === 200));
      },
    );
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('request timed out')));
    req.on('error', (err) => done('error', false, err.message));
    req.end(body);
  };
  return { send, close: () => agent.destroy() };
}

const identity = (b: Buffer) => b;
const STATUS_NAME = new Map(Object.entries(status).map(([k, v]) => [v as number, k]));

function grpcSender(target: string): { send: Sender; close(): void } {
  const client = new Client(target, credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
    'grpc.max_receive_message_length': -1,
  });
  const send: Sender = (body, done) => {
    client.makeUnaryRequest(
      EXPORT_METHOD.traces,
      identity,
      identity,
      body,
      new Metadata(),
      { deadline: Date.now() + REQUEST_TIMEOUT_MS },
      (err) => {
        if (!err) done('OK', true);
        else if (err.code === status.UNAVAILABLE && /connect|ECONNREFUSED/i.test(err.details))
          done('error', false, err.message);
        else done(STATUS_NAME.get(err.code) ?? String(err.code), false);
      },
    );
  };
  return { send, close: () => client.close() };
}

class Run {
  requests = 0;
  okRequests = 0;
  okSpans = 0;
  okBytes = 0;
  errors = 0;
  firstError: string | undefined;
  lateSends = 0;
  readonly statuses: Record<string, number> = {};
  readonly latenciesMs: number[] = [];
  readonly #sender: { send: Sender; close(): void };
  #next = 0;

  constructor(protocol: Protocol, target: string, sockets: number) {
    this.#sender = protocol === 'grpc' ? grpcSender(target) : httpSender(target, sockets);
  }

  /** Sends the next body; resolves when the response is fully read (never rejects). */
  send(recordLatency: boolean): Promise<void> {
    const i = this.#next++ % bodies.length;
    const body = withGeneration(bodies[i] as Buffer, offsets[i] ?? [], generation++);
    const spans = spansPerBody[i] ?? 0;
    this.requests++;
    return new Promise<void>((resolve) => {
      const started = performance.now();
      this.#sender.send(body, (s, ok, error) => {
        if (error !== undefined) {
          this.errors++;
          this.firstError ??= error;
        } else this.statuses[s] = (this.statuses[s] ?? 0) + 1;
        if (ok) {
          this.okRequests++;
          this.okSpans += spans;
          this.okBytes += body.length;
          if (recordLatency) this.latenciesMs.push(performance.now() - started);
        }
        resolve();
      });
    });
  }

  result(elapsedMs: number): PipelineLoadResult {
    this.#sender.close();
    return {
      requests: this.requests,
      okRequests: this.okRequests,
      okSpans: this.okSpans,
      okBytes: this.okBytes,
      statuses: this.statuses,
      errors: this.errors,
      ...(this.firstError ? { firstError: this.firstError } : {}),
      elapsedMs,
      latenciesMs: this.latenciesMs,
      lateSends: this.lateSends,
    };
  }
}

async function closedLoop(m: RunBase & { concurrency: number }): Promise<PipelineLoadResult> {
  const run = new Run(m.protocol, m.target, m.concurrency);
  const start = performance.now();
  const end = start + m.durationMs;
  const worker = async () => {
    while (performance.now() < end) await run.send(false);
  };
  await Promise.all(Array.from({ length: m.concurrency }, worker));
  return run.result(performance.now() - start);
}

async function openLoop(m: RunBase & { ratePerSecond: number }): Promise<PipelineLoadResult> {
  // More connections than the rate needs, so a slow response never delays the next scheduled send.
  const run = new Run(m.protocol, m.target, 32);
  const interval = 1000 / m.ratePerSecond;
  const total = Math.max(1, Math.floor((m.durationMs / 1000) * m.ratePerSecond));
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const wait = start + i * interval - performance.now();
    if (wait > 0) await sleep(wait);
    else if (wait < -5) run.lateSends++;
    inflight.push(run.send(true));
  }
  await Promise.all(inflight);
  return run.result(performance.now() - start);
}

const reply = (m: PipelineLoadMessage) => process.send?.(m);

process.on('message', (m: PipelineLoadRequest) => {
  if (m.type === 'exit') {
    process.disconnect?.();
    return;
  }
  const job = m.mode === 'closed' ? closedLoop(m) : openLoop(m);
  void job.then((result) => reply({ type: 'result', id: m.id, result }));
});

reply({ type: 'ready', spansPerBody, bytesPerBody: bodies.map((b) => b.length) });
