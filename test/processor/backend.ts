import { existsSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { type CollectorOptions, startCollector } from '../harness/collector.ts';
import { OtlpJsonLinesReader, type ReceivedSpan } from '../harness/otlp-file.ts';
import { httpOk, ManagedProcess } from '../harness/process.ts';
import { goTool } from '../harness/tools.ts';

/**
 * A real Collector with a file sink that a test can take down and bring back on the same ports and the
 * same sink file: the backend outage a processor has to ride out.
 */
export interface OutageBackend {
  /** `http://127.0.0.1:<port>`, the same across restarts. */
  readonly otlpHttpEndpoint: string;
  /** `127.0.0.1:<port>`, the same across restarts. */
  readonly otlpGrpcEndpoint: string;
  readonly up: boolean;
  /** Every span the sink holds, across restarts. */
  spans(): readonly ReceivedSpan[];
  /** Waits until at least `count` spans in the sink satisfy `predicate`; returns them. */
  waitForSpans(
    predicate: (s: ReceivedSpan) => boolean,
    count: number,
    timeoutMs?: number,
  ): Promise<ReceivedSpan[]>;
  /** Stops the Collector: its ports refuse connections until `resume`. */
  pause(): Promise<void>;
  /** Starts the Collector again with the same config, ports and sink; resolves once it is healthy. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

export async function startOutageBackend(opts: CollectorOptions = {}): Promise<OutageBackend> {
  const col = await startCollector(opts);
  const sink = col.fileSinkPath;
  if (sink === undefined) throw new Error('an outage backend needs its file sink');
  // The Collector truncates its sink when it starts, so each run gets its own file: on pause the file is
  // read to the end and moved aside, and what it held is kept here.
  let reader = new OtlpJsonLinesReader(sink);
  const earlier: ReceivedSpan[] = [];
  const spans = (): ReceivedSpan[] => [...earlier, ...reader.spans()];
  const name = opts.name ?? 'otelcol';
  let current: ManagedProcess = col.process;
  let restarts = 0;

  const waitUntil = (ready: () => Promise<boolean>, what: string, timeoutMs: number) =>
    current.waitUntil(ready, what, timeoutMs);

  return {
    otlpHttpEndpoint: col.otlpHttpEndpoint,
    otlpGrpcEndpoint: col.otlpGrpcEndpoint,
    get up() {
      return current.running;
    },
    spans,
    async waitForSpans(predicate, count, timeoutMs = 15_000) {
      let matched: ReceivedSpan[] = [];
      const ready = async () => {
        matched = spans().filter(predicate);
        return matched.length >= count;
      };
      if (current.running) await waitUntil(ready, `${count} matching span(s) in the file sink`, timeoutMs);
      else if (!(await ready()))
        throw new Error(`${name} is paused; ${matched.length} of ${count} spans arrived`);
      return matched;
    },
    async pause() {
      if (!current.running) return;
      await current.stop();
      for (const s of reader.spans()) earlier.push(s);
      if (existsSync(sink)) renameSync(sink, `${sink}.${restarts + 1}`);
      reader = new OtlpJsonLinesReader(sink);
    },
    async resume() {
      if (current.running) return;
      current = ManagedProcess.start({
        name: `${name}-restart-${++restarts}`,
        logDir: dirname(col.configPath),
        command: await goTool('otelcol'),
        args: [`--config=${col.configPath}`],
      });
      await waitUntil(() => httpOk(col.healthUrl), `${name} to be healthy again on the same ports`, 30_000);
    },
    async stop() {
      await current.stop();
      await col.stop();
    },
  };
}
