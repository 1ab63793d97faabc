// The load generator: its own process (forked by the benchmark, driven over the IPC channel), sending
// pre-encoded OTLP/HTTP protobuf requests over keep-alive connections.
//   closed loop: `concurrency` requests always in flight, for `durationMs` (throughput, CPU per span);
//   open loop:   requests started on a fixed schedule (`ratePerSecond`), for `durationMs` (latency).
// Latency is send → response fully read, per request, measured here with performance.now().
// With a placeholder as second argument (the cardinality storm), every send is a copy of its body with
// each occurrence of the placeholder overwritten by the next value of a counter that runs for the whole
// life of the process, so no two spans ever carry the same id.
//   node bench/loadgen.ts PAYLOAD_FILE [PLACEHOLDER]   (forked by the benchmark, driven over IPC)
import { httpSender } from './http-sender.ts';
import { serveRuns } from './ipc-runs.ts';
import { closedLoop, openLoop } from './load-loops.ts';
import { CountedRun, type LoadCounts } from './load-run.ts';
import { patchUserIds, payloadOfArgv, placeholderOffsets } from './payload.ts';

/** One phase: closed loop (`concurrency` in flight) or open loop (`ratePerSecond`), for `durationMs`. */
export type LoadRunSpec =
  | {
      readonly mode: 'closed';
      readonly url: string;
      readonly concurrency: number;
      readonly durationMs: number;
    }
  | {
      readonly mode: 'open';
      readonly url: string;
      readonly ratePerSecond: number;
      readonly durationMs: number;
    };

export interface LoadReady {
  readonly bodies: number;
  readonly spansPerBody: readonly number[];
  /** Placeholders per body (all 0 without a placeholder). */
  readonly idsPerBody: readonly number[];
}

export interface LoadResult extends LoadCounts {
  /** Distinct ids written over the placeholder (0 without one): in every request sent, in those answered 200. */
  readonly idsSent: number;
  readonly idsAccepted: number;
}

const REQUEST_TIMEOUT_MS = 15_000;

const { bodies, spansPerBody } = payloadOfArgv();
const placeholder = process.argv[3];
const idOffsets = bodies.map((b) => (placeholder ? placeholderOffsets(b, placeholder) : []));
/** The next id to write; never reset, so ids are distinct across every run of this process. */
let nextId = 0;

class Run extends CountedRun {
  idsSent = 0;
  idsAccepted = 0;
  #next = 0;

  constructor(url: string, sockets: number) {
    super(httpSender(url, sockets, REQUEST_TIMEOUT_MS));
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
    return this.sendCounted(body, spansPerBody[i] ?? 0, recordLatency, () => {
      this.idsAccepted += offsets.length;
    });
  }

  result(elapsedMs: number): LoadResult {
    return { ...this.finish(elapsedMs), idsSent: this.idsSent, idsAccepted: this.idsAccepted };
  }
}

async function runPhase(m: LoadRunSpec): Promise<LoadResult> {
  if (m.mode === 'closed') {
    const run = new Run(m.url, m.concurrency);
    return run.result(await closedLoop(run, m.concurrency, m.durationMs));
  }
  // More connections than the rate needs, so a slow response never delays the next scheduled send.
  const run = new Run(m.url, 32);
  return run.result(
    await openLoop(run, m.ratePerSecond, Math.floor((m.durationMs / 1000) * m.ratePerSecond)),
  );
}

serveRuns<LoadRunSpec, LoadReady, LoadResult>(
  { bodies: bodies.length, spansPerBody, idsPerBody: idOffsets.map((o) => o.length) },
  runPhase,
);
