import { setTimeout as sleep } from 'node:timers/promises';

/** One run of a load generator as the loops drive it: a send that never rejects, and late sends counted. */
export interface LoopRun {
  /** Sends the next body; resolves when the response is fully read. */
  send(recordLatency: boolean): Promise<void>;
  lateSends: number;
}

/** `concurrency` sends always in flight until `durationMs` has passed (throughput); returns ms elapsed. */
export async function closedLoop(run: LoopRun, concurrency: number, durationMs: number): Promise<number> {
  const start = performance.now();
  const end = start + durationMs;
  const worker = async () => {
    while (performance.now() < end) await run.send(false);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return performance.now() - start;
}

/**
 * `total` sends started on a fixed schedule of `ratePerSecond` (latency), whatever the responses do; a
 * send more than 5 ms behind its schedule counts as late. Returns ms elapsed once every response is in.
 */
export async function openLoop(run: LoopRun, ratePerSecond: number, total: number): Promise<number> {
  const interval = 1000 / ratePerSecond;
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const wait = start + i * interval - performance.now();
    if (wait > 0) await sleep(wait);
    else if (wait < -5) run.lateSends++;
    inflight.push(run.send(true));
  }
  await Promise.all(inflight);
  return performance.now() - start;
}
