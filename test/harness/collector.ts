import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as yaml from 'js-yaml';
import { OtlpJsonLinesReader, type ReceivedSpan } from './otlp-file.ts';
import { freePorts } from './ports.ts';
import { httpOk, ManagedProcess } from './process.ts';
import { parseExposition, sumSamples } from './prometheus.ts';
import { goTool } from './tools.ts';

const run = promisify(execFile);

/** Component id of the harness's file exporter; name it in `pipelines` to route data to the file sink. */
export const FILE_SINK = 'file/sink';

export interface PipelineConfig {
  /** `['otlp']` (the harness's receiver) unless told. */
  readonly receivers?: readonly string[];
  readonly processors?: readonly string[];
  readonly exporters: readonly string[];
}

export interface CollectorOptions {
  /** Name of the process in errors and of its log file; `otelcol` unless told. */
  readonly name?: string;
  /** `processors:` section, component id -> config. */
  readonly processors?: Readonly<Record<string, unknown>>;
  /** `exporters:` section; the file sink is added to it unless `fileSink` is false. */
  readonly exporters?: Readonly<Record<string, unknown>>;
  readonly connectors?: Readonly<Record<string, unknown>>;
  /**
   * `service.pipelines`. Without it the harness runs one `traces` pipeline: otlp -> every processor in
   * the order given -> every exporter (and the file sink).
   */
  readonly pipelines?: Readonly<Record<string, PipelineConfig>>;
  /** Add the `file/sink` exporter writing OTLP/JSON lines the harness reads back; true unless told. */
  readonly fileSink?: boolean;
  readonly selfMetrics?: {
    /** `service.telemetry.metrics.level`; `normal` unless told. */
    readonly level?: 'none' | 'basic' | 'normal' | 'detailed';
    /**
     * Serve Prometheus-conventional names (`otelcol_receiver_accepted_spans_total`, unit suffixes).
     * Off by default, matching the Collector's own default (`otelcol_receiver_accepted_spans`).
     */
    readonly typeAndUnitSuffixes?: boolean;
  };
  /** `service.telemetry.logs.level`; `info` unless told. */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  readonly startTimeoutMs?: number;
}

export interface CollectorPorts {
  readonly grpc: number;
  readonly http: number;
  readonly health: number;
  readonly metrics: number;
}

export interface RunningCollector {
  /** `127.0.0.1:<port>`, the form gRPC clients and the Collector's `otlp_grpc` exporter take. */
  readonly otlpGrpcEndpoint: string;
  /** `http://127.0.0.1:<port>`; OTLP/HTTP traces go to `${otlpHttpEndpoint}/v1/traces`. */
  readonly otlpHttpEndpoint: string;
  /** The Collector's own metrics in Prometheus text format. */
  readonly metricsUrl: string;
  /** `127.0.0.1:<port>` of `metricsUrl`, as a Prometheus scrape target. */
  readonly metricsTarget: string;
  readonly healthUrl: string;
  readonly configPath: string;
  /** The config the Collector was started with. */
  readonly config: Readonly<Record<string, unknown>>;
  /** Where the file sink writes, when there is one. */
  readonly fileSinkPath: string | undefined;
  readonly process: ManagedProcess;
  /** Every span the file sink has written so far. */
  receivedSpans(): readonly ReceivedSpan[];
  /**
   * Waits until at least `count` spans in the file sink satisfy `predicate`, and returns those spans.
   * Fails early, with the Collector's log, if the Collector exits.
   */
  waitForSpans(
    predicate: (s: ReceivedSpan) => boolean,
    timeoutMs?: number,
    count?: number,
  ): Promise<ReceivedSpan[]>;
  /** GET metricsUrl. */
  metricsText(): Promise<string>;
  /** Sum of one self-metric's series whose labels include `labels`; undefined when there is none. */
  selfMetric(name: string, labels?: Readonly<Record<string, string>>): Promise<number | undefined>;
  /**
   * Polls `selfMetric` until `predicate` holds and returns that value. Counters on the sending side
   * move after the receiving side has the data, so a test that just saw spans arrive polls for them.
   */
  waitForSelfMetric(
    name: string,
    labels: Readonly<Record<string, string>>,
    predicate: (v: number | undefined) => boolean,
    timeoutMs?: number,
  ): Promise<number | undefined>;
  stop(): Promise<void>;
}

/** The full Collector config the harness runs for `opts` on `ports`. */
export function collectorConfig(
  opts: CollectorOptions,
  ports: CollectorPorts,
  fileSinkPath: string | undefined,
): Record<string, unknown> {
  const exporters: Record<string, unknown> = { ...opts.exporters };
  if (fileSinkPath !== undefined) {
    if (FILE_SINK in exporters)
      throw new Error(`exporter id ${FILE_SINK} is reserved for the harness's file sink`);
    // A short flush interval keeps waitForSpans fast; the exporter's default is 1 s.
    exporters[FILE_SINK] = { path: fileSinkPath, format: 'json', flush_interval: '100ms' };
  }
  if (Object.keys(exporters).length === 0)
    throw new Error('a Collector needs at least one exporter or the file sink');

  const pipelines: Record<string, Record<string, readonly string[]>> = {};
  if (opts.pipelines) {
    for (const [id, p] of Object.entries(opts.pipelines)) {
      pipelines[id] = {
        receivers: p.receivers ?? ['otlp'],
        ...(p.processors && p.processors.length > 0 ? { processors: p.processors } : {}),
        exporters: p.exporters,
      };
    }
  } else {
    const processors = Object.keys(opts.processors ?? {});
    pipelines.traces = {
      receivers: ['otlp'],
      ...(processors.length > 0 ? { processors } : {}),
      exporters: Object.keys(exporters),
    };
  }

  const prometheus: Record<string, unknown> = { host: '127.0.0.1', port: ports.metrics };
  if (opts.selfMetrics?.typeAndUnitSuffixes) {
    // Unset, both default to true in the Collector, which is why its names lack _total and units.
    prometheus.without_type_suffix = false;
    prometheus.without_units = false;
  }

  return {
    receivers: {
      otlp: {
        protocols: {
          grpc: { endpoint: `127.0.0.1:${ports.grpc}` },
          http: { endpoint: `127.0.0.1:${ports.http}` },
        },
      },
    },
    ...(opts.processors && Object.keys(opts.processors).length > 0
      ? { processors: { ...opts.processors } }
      : {}),
    exporters,
    ...(opts.connectors ? { connectors: { ...opts.connectors } } : {}),
    extensions: { health_check: { endpoint: `127.0.0.1:${ports.health}` } },
    service: {
      extensions: ['health_check'],
      telemetry: {
        logs: { level: opts.logLevel ?? 'info' },
        metrics: {
          level: opts.selfMetrics?.level ?? 'normal',
          readers: [{ pull: { exporter: { prometheus } } }],
        },
      },
      pipelines,
    },
  };
}

function dumpYaml(config: object): string {
  return yaml.dump(config, { noRefs: true, lineWidth: -1 });
}

/**
 * The reference OpenTelemetry Collector (built by tools/build.sh) on free loopback ports: an OTLP
 * receiver (gRPC + HTTP), health_check, its own metrics for Prometheus, the pipeline the test gives,
 * and, unless turned off, a file sink the test reads spans back from.
 */
export async function startCollector(opts: CollectorOptions = {}): Promise<RunningCollector> {
  const bin = await goTool('otelcol');
  const name = opts.name ?? 'otelcol';
  const dir = mkdtempSync(join(tmpdir(), `llmobs-${name}-`));
  const fileSinkPath = opts.fileSink === false ? undefined : join(dir, 'sink.jsonl');
  const configPath = join(dir, 'config.yaml');
  const cleanup = () => {
    if (!process.env.LLMOBS_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
  };

  const launch = async (): Promise<{
    proc: ManagedProcess;
    ports: CollectorPorts;
    config: Record<string, unknown>;
  }> => {
    for (let attempt = 1; ; attempt++) {
      const [grpc, http, health, metrics] = (await freePorts(4)) as [number, number, number, number];
      const ports = { grpc, http, health, metrics };
      const config = collectorConfig(opts, ports, fileSinkPath);
      writeFileSync(configPath, dumpYaml(config));
      const proc = ManagedProcess.start({
        name,
        logDir: dir,
        command: bin,
        args: [`--config=${configPath}`],
      });
      try {
        // health_check turns ready only once every pipeline has started, receivers included.
        await proc.waitUntil(
          () => httpOk(`http://127.0.0.1:${health}/`),
          'health_check to report ready',
          opts.startTimeoutMs ?? 30_000,
        );
        return { proc, ports, config };
      } catch (err) {
        await proc.stop();
        // freePorts can race with other processes; a lost race is worth another set of ports.
        if (attempt < 3 && /address already in use/.test(proc.tail(20))) continue;
        throw err;
      }
    }
  };
  // On failure the folder stays: the error names the log file in it.
  const { proc: running, ports, config } = await launch();
  const { grpc, http, health, metrics } = ports;
  const stop = async () => {
    await running.stop();
    cleanup();
  };
  const healthUrl = `http://127.0.0.1:${health}/`;

  const reader = fileSinkPath === undefined ? undefined : new OtlpJsonLinesReader(fileSinkPath);
  const spans = (): readonly ReceivedSpan[] => {
    if (!reader) throw new Error(`${name} runs without the file sink (fileSink: false)`);
    return reader.spans();
  };
  const metricsUrl = `http://127.0.0.1:${metrics}/metrics`;
  const metricsText = async () => {
    const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`GET ${metricsUrl}: ${res.status}`);
    return res.text();
  };

  const selfMetric = async (metric: string, labels: Readonly<Record<string, string>> = {}) =>
    sumSamples(parseExposition(await metricsText()), metric, labels);

  return {
    otlpGrpcEndpoint: `127.0.0.1:${grpc}`,
    otlpHttpEndpoint: `http://127.0.0.1:${http}`,
    metricsUrl,
    metricsTarget: `127.0.0.1:${metrics}`,
    healthUrl,
    configPath,
    config,
    fileSinkPath,
    process: running,
    receivedSpans: spans,
    async waitForSpans(predicate, timeoutMs = 15_000, count = 1) {
      let matched: ReceivedSpan[] = [];
      try {
        await running.waitUntil(
          async () => {
            matched = spans().filter(predicate);
            return matched.length >= count;
          },
          `${count} matching span(s) in the file sink`,
          timeoutMs,
        );
      } catch (err) {
        const all = spans();
        const seen = all.slice(-20).map((s) => s.span.name);
        throw new Error(
          `${(err as Error).message}\nmatched ${matched.length} of ${all.length} spans in the sink; last names: ${JSON.stringify(seen)}`,
          { cause: err },
        );
      }
      return matched;
    },
    metricsText,
    selfMetric,
    async waitForSelfMetric(metric, labels, predicate, timeoutMs = 10_000) {
      let last: number | undefined;
      try {
        await running.waitUntil(
          async () => {
            last = await selfMetric(metric, labels);
            return predicate(last);
          },
          `${metric}${JSON.stringify(labels)} to satisfy the predicate`,
          timeoutMs,
        );
      } catch (err) {
        throw new Error(`${(err as Error).message}\nlast value: ${last}`, { cause: err });
      }
      return last;
    },
    stop,
  };
}

export interface ValidateResult {
  readonly ok: boolean;
  /** `otelcol validate`'s own output, trimmed (empty when the config is valid). */
  readonly message: string;
}

/** Runs `otelcol validate` on a config given as YAML text or as an object. */
export async function validateCollectorConfig(config: string | object): Promise<ValidateResult> {
  const bin = await goTool('otelcol');
  const dir = mkdtempSync(join(tmpdir(), 'llmobs-otelcol-validate-'));
  try {
    const path = join(dir, 'config.yaml');
    writeFileSync(path, typeof config === 'string' ? config : dumpYaml(config));
    try {
      const { stdout, stderr } = await run(bin, ['validate', `--config=${path}`], {
        maxBuffer: 16 * 1024 * 1024,
      });
      return { ok: true, message: `${stdout}${stderr}`.trim() };
    } catch (err: unknown) {
      const e = err as { stdout?: string; stderr?: string };
      if (e.stdout === undefined && e.stderr === undefined) throw err;
      return { ok: false, message: `${e.stdout ?? ''}${e.stderr ?? ''}`.trim() };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
