// The pipeline benchmark's load generator: its own process (forked by bench/pipeline.bench.ts, driven
// over IPC), sending the generated OTLP/protobuf bodies over OTLP/HTTP (node:http, keep-alive) or
// OTLP/gRPC (@grpc/grpc-js, the bodies sent as they are with an identity serializer).
//   closed loop: `concurrency` requests always in flight, for `durationMs` (saturation);
//   open loop:   requests started on a fixed schedule (`ratePerSecond`), for `durationMs` (latency).
// Every send is a copy of its body with fresh trace ids (trace-ids.ts), so tail sampling never sees a
// trace id twice. Latency is send → response fully read, measured here with performance.now().
//   node bench/pipeline/loadgen.ts PAYLOAD_FILE   (forked by the benchmark, driven over IPC)
import { Client, credentials, Metadata, status } from '@grpc/grpc-js';
import { EXPORT_METHOD } from '../../processors/src/exporters/otlpgrpc/sender.ts';
import { httpSender, type Sender, type SenderHandle } from '../http-sender.ts';
import { serveRuns } from '../ipc-runs.ts';
import { closedLoop, openLoop } from '../load-loops.ts';
import { CountedRun, type LoadCounts } from '../load-run.ts';
import { payloadOfArgv } from '../payload.ts';
import { traceIdOffsets, withGeneration } from './trace-ids.ts';

export type Protocol = 'http' | 'grpc';

/** One phase: closed loop (`concurrency` in flight) or open loop (`ratePerSecond`), for `durationMs`. */
export type PipelineRunSpec = {
  /** http: the traces URL; grpc: `host:port`. */
  readonly target: string;
  readonly protocol: Protocol;
  readonly durationMs: number;
} & (
  | { readonly mode: 'closed'; readonly concurrency: number }
  | { readonly mode: 'open'; readonly ratePerSecond: number }
);

export interface PipelineLoadReady {
  readonly spansPerBody: readonly number[];
  readonly bytesPerBody: readonly number[];
}

export interface PipelineLoadResult extends LoadCounts {
  /** Bytes of the requests answered OK. */
  readonly okBytes: number;
}

const REQUEST_TIMEOUT_MS = 30_000;

const { bodies, spansPerBody } = payloadOfArgv();
const offsets = bodies.map((b) => traceIdOffsets(b));
/** Sends so far over the process's life: the generation of the next send's trace ids. */
let generation = 0;

const identity = (b: Buffer) => b;
const STATUS_NAME = new Map(Object.entries(status).map(([k, v]) => [v as number, k]));

function grpcSender(target: string): SenderHandle {
  const client = new Client(target, credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
    'grpc.max_receive_message_length': -1,
    // channelz keeps per-call bookkeeping for an introspection service nothing here reads; the
    // client shares its core with the sink, so it should spend nothing it does not need.
    'grpc.enable_channelz': 0,
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

class Run extends CountedRun {
  okBytes = 0;
  #next = 0;

  constructor(protocol: Protocol, target: string, sockets: number) {
    super(protocol === 'grpc' ? grpcSender(target) : httpSender(target, sockets, REQUEST_TIMEOUT_MS));
  }

  /** Sends the next body; resolves when the response is fully read (never rejects). */
  send(recordLatency: boolean): Promise<void> {
    const i = this.#next++ % bodies.length;
    const body = withGeneration(bodies[i] as Buffer, offsets[i] ?? [], generation++);
    return this.sendCounted(body, spansPerBody[i] ?? 0, recordLatency, () => {
      this.okBytes += body.length;
    });
  }

  result(elapsedMs: number): PipelineLoadResult {
    return { ...this.finish(elapsedMs), okBytes: this.okBytes };
  }
}

async function runPhase(m: PipelineRunSpec): Promise<PipelineLoadResult> {
  if (m.mode === 'closed') {
    const run = new Run(m.protocol, m.target, m.concurrency);
    return run.result(await closedLoop(run, m.concurrency, m.durationMs));
  }
  // More connections than the rate needs, so a slow response never delays the next scheduled send.
  const run = new Run(m.protocol, m.target, 32);
  const total = Math.max(1, Math.floor((m.durationMs / 1000) * m.ratePerSecond));
  return run.result(await openLoop(run, m.ratePerSecond, total));
}

serveRuns<PipelineRunSpec, PipelineLoadReady, PipelineLoadResult>(
  { spansPerBody, bytesPerBody: bodies.map((b) => b.length) },
  runPhase,
);
