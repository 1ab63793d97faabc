import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as yaml from 'js-yaml';
import { repoRoot } from './cache.ts';
import { freePorts } from './ports.ts';
import { httpOk, ManagedProcess } from './process.ts';
import { parseExposition, sumSamples } from './prometheus.ts';

/** The processor's entry point, run with the test's own Node (type stripping, no build step). */
export const PROCESSOR_MAIN = join(repoRoot, 'processors', 'src', 'main.ts');

const PLACEHOLDER = /\{\{port:([A-Za-z0-9_.-]+)\}\}/g;
const WHOLE_PLACEHOLDER = /^\{\{port:([A-Za-z0-9_.-]+)\}\}$/;

/**
 * A free loopback port, chosen when the config is written: `127.0.0.1:${port('grpc')}`. The same name
 * stands for the same port everywhere in a config and across `rewriteConfig`, so a reload can keep a
 * listener where it was. A value that is only the placeholder becomes a number.
 */
export function port(name: string): string {
  return `{{port:${name}}}`;
}

export interface ProcessorPipeline {
  /** `['otlp']` (the helper's receiver) unless told. */
  readonly receivers?: readonly string[];
  readonly processors?: readonly string[];
  readonly exporters: readonly string[];
}

export interface ProcessorConfigOptions {
  readonly exporters: Readonly<Record<string, unknown>>;
  readonly processors?: Readonly<Record<string, unknown>>;
  /** Receivers besides the helper's `otlp` (e.g. `llm_feedback`), listed in pipelines by the caller. */
  readonly extraReceivers?: Readonly<Record<string, unknown>>;
  /** Without it: one `traces` pipeline, otlp -> every processor in order -> every exporter. */
  readonly pipelines?: Readonly<Record<string, ProcessorPipeline>>;
  /** Extra settings merged into `receivers.otlp.protocols.http` (e.g. `max_request_body_size`). */
  readonly http?: Readonly<Record<string, unknown>>;
  /** Extra settings merged into `receivers.otlp.protocols.grpc`. */
  readonly grpc?: Readonly<Record<string, unknown>>;
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

/**
 * The config most tests want: the otlp receiver on free gRPC and HTTP ports, health_check and the
 * self-metrics endpoint on free ports, everything on 127.0.0.1, and the caller's exporters and pipelines.
 */
export function processorConfig(opts: ProcessorConfigOptions): Record<string, unknown> {
  const processors = Object.keys(opts.processors ?? {});
  const pipelines: Record<string, Record<string, readonly string[]>> = {};
  for (const [id, p] of Object.entries(
    opts.pipelines ?? { traces: { processors, exporters: Object.keys(opts.exporters) } },
  )) {
    pipelines[id] = {
      receivers: p.receivers ?? ['otlp'],
      ...(p.processors && p.processors.length > 0 ? { processors: p.processors } : {}),
      exporters: p.exporters,
    };
  }
  return {
    extensions: { health_check: { endpoint: `127.0.0.1:${port('health')}` } },
    receivers: {
      otlp: {
        protocols: {
          grpc: { endpoint: `127.0.0.1:${port('grpc')}`, ...opts.grpc },
          http: { endpoint: `127.0.0.1:${port('http')}`, ...opts.http },
        },
      },
      ...opts.extraReceivers,
    },
    ...(processors.length > 0 ? { processors: { ...opts.processors } } : {}),
    exporters: { ...opts.exporters },
    service: {
      extensions: ['health_check'],
      telemetry: {
        logs: { level: opts.logLevel ?? 'info' },
        metrics: { address: `127.0.0.1:${port('metrics')}` },
      },
      pipelines,
    },
  };
}

export interface StartProcessorOptions {
  /** A config object or YAML text; `{{port:NAME}}` placeholders (see `port`) get free ports. */
  readonly config: Readonly<Record<string, unknown>> | string;
  /** Extra environment for the process, over the test's own (for `${env:VAR}` in the config). */
  readonly env?: Readonly<Record<string, string>>;
  /** `--shutdown-timeout`, e.g. `20s`; the processor's default (15s) unless told. */
  readonly shutdownTimeout?: string;
  /** False passes `--no-watch` (no hot reload); watching is on unless told. */
  readonly watch?: boolean;
  /** Name of the process in errors and of its log file; `llmobs-processor` unless told. */
  readonly name?: string;
  readonly startTimeoutMs?: number;
}

/** One structured log line of the processor (pino JSON). */
export interface ProcessorLogLine {
  readonly level: string;
  readonly msg: string;
  readonly [key: string]: unknown;
}

export interface RunningProcessor {
  /** `http://host:port` of the otlp receiver's HTTP protocol; OTLP/HTTP traces go to `${...}/v1/traces`. */
  readonly otlpHttpEndpoint: string;
  /** `host:port` of the otlp receiver's gRPC protocol. */
  readonly otlpGrpcEndpoint: string;
  /** The processor's own metrics (Prometheus text). */
  readonly metricsUrl: string;
  readonly healthUrl: string;
  readonly configPath: string;
  /** The config text currently in the file. */
  readonly configText: string;
  /** The ports given to `{{port:NAME}}` placeholders, by name. */
  readonly ports: Readonly<Record<string, number>>;
  readonly process: ManagedProcess;
  readonly logFile: string;
  /** Every JSON log line so far (lines that are not JSON are skipped). */
  logs(): ProcessorLogLine[];
  /** Polls the log until a line satisfies `predicate`; fails early if the process exits. */
  waitForLog(predicate: (l: ProcessorLogLine) => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** GET metricsUrl. */
  metricsText(): Promise<string>;
  /** Sum of one metric's series whose labels include `labels`; undefined when there is none. */
  metric(name: string, labels?: Readonly<Record<string, string>>): Promise<number | undefined>;
  /** Polls `metric` until `predicate` holds and returns that value. */
  waitForMetric(
    name: string,
    labels: Readonly<Record<string, string>>,
    predicate: (v: number | undefined) => boolean,
    timeoutMs?: number,
  ): Promise<number | undefined>;
  /** GET healthUrl: true on 200. */
  healthy(): Promise<boolean>;
  /**
   * Replaces the config file (atomically, as a ConfigMap update does) with `config`. Placeholders seen
   * before keep their ports; new ones get free ports. The endpoints above stay those of the first config.
   */
  rewriteConfig(config: Readonly<Record<string, unknown>> | string): Promise<void>;
  /**
   * SIGTERM, wait for the exit (SIGKILL after `graceMs`), and return the exit code: null when a
   * signal ended the process instead.
   */
  stop(graceMs?: number): Promise<number | null>;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function placeholderNames(text: string): Set<string> {
  return new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1] ?? ''));
}

/** Replaces placeholders in every string of a config tree; a string that is only one becomes a number. */
function fillTree(value: unknown, ports: ReadonlyMap<string, number>): unknown {
  if (typeof value === 'string') {
    const whole = WHOLE_PLACEHOLDER.exec(value);
    if (whole) return ports.get(whole[1] ?? '');
    return value.replace(PLACEHOLDER, (_m, name: string) => String(ports.get(name)));
  }
  if (Array.isArray(value)) return value.map((v) => fillTree(v, ports));
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = fillTree(v, ports);
    return out;
  }
  return value;
}

/** Assigns a free port to every placeholder name in `config` not already in `ports`. */
async function allocate(
  config: Readonly<Record<string, unknown>> | string,
  ports: Map<string, number>,
): Promise<void> {
  const text = typeof config === 'string' ? config : JSON.stringify(config);
  const missing = [...placeholderNames(text)].filter((n) => !ports.has(n));
  const taken = new Set(ports.values());
  const fresh: number[] = [];
  while (fresh.length < missing.length) {
    for (const p of await freePorts(missing.length - fresh.length)) {
      if (taken.has(p)) continue;
      taken.add(p);
      fresh.push(p);
    }
  }
  missing.forEach((name, i) => {
    ports.set(name, fresh[i] ?? 0);
  });
}

/** The config file text for `config` with its placeholders replaced by `ports` (objects become YAML). */
export function renderConfig(
  config: Readonly<Record<string, unknown>> | string,
  ports: ReadonlyMap<string, number>,
): string {
  const unknown = [...placeholderNames(typeof config === 'string' ? config : JSON.stringify(config))].filter(
    (n) => !ports.has(n),
  );
  if (unknown.length > 0) throw new Error(`no port for placeholder(s) ${unknown.join(', ')}`);
  if (typeof config === 'string') {
    return config.replace(PLACEHOLDER, (_m, name: string) => String(ports.get(name)));
  }
  return yaml.dump(fillTree(config, ports), { noRefs: true, lineWidth: -1 });
}

export interface ProcessorEndpoints {
  readonly http?: string;
  readonly grpc?: string;
  readonly health?: string;
  readonly metrics?: string;
}

/** `host:port` as a URL host: loopback for the wildcard addresses, brackets for IPv6. */
function dialable(hostPort: string): string {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(hostPort);
  if (!m) return hostPort;
  let host = m[1] ?? m[2] ?? '';
  if (host === '' || host === '0.0.0.0') host = '127.0.0.1';
  if (host === '::') host = '::1';
  return `${host.includes(':') ? `[${host}]` : host}:${m[3]}`;
}

/**
 * Where a processor started from config `text` can be reached, read the way the processor reads it
 * (its defaults included): the otlp receiver's URLs, health_check's URL when enabled, /metrics unless
 * `level: none`. Wildcard listen addresses are dialled on loopback.
 */
export function endpointsOf(text: string): ProcessorEndpoints {
  const cfg: unknown = yaml.load(text);
  if (!isRecord(cfg)) return {};
  const out: { http?: string; grpc?: string; health?: string; metrics?: string } = {};
  const receivers = isRecord(cfg.receivers) ? cfg.receivers : {};
  const otlp = Object.entries(receivers).find(([id]) => id === 'otlp' || id.startsWith('otlp/'))?.[1];
  const protocols = isRecord(otlp) && isRecord(otlp.protocols) ? otlp.protocols : {};
  if ('http' in protocols) {
    const h = isRecord(protocols.http) ? protocols.http : {};
    out.http = `http://${dialable(String(h.endpoint ?? 'localhost:4318'))}`;
  }
  if ('grpc' in protocols) {
    const g = isRecord(protocols.grpc) ? protocols.grpc : {};
    out.grpc = dialable(String(g.endpoint ?? 'localhost:4317'));
  }
  const service = isRecord(cfg.service) ? cfg.service : {};
  const extensions = isRecord(cfg.extensions) ? cfg.extensions : {};
  const enabled = Array.isArray(service.extensions) ? service.extensions.map(String) : [];
  const health = enabled.find((id) => id === 'health_check' || id.startsWith('health_check/'));
  if (health !== undefined) {
    const h = isRecord(extensions[health]) ? (extensions[health] as Record<string, unknown>) : {};
    out.health = `http://${dialable(String(h.endpoint ?? 'localhost:13133'))}${String(h.path ?? '/')}`;
  }
  const telemetry = isRecord(service.telemetry) ? service.telemetry : {};
  const metrics = isRecord(telemetry.metrics) ? telemetry.metrics : {};
  if (metrics.level !== 'none') {
    const prom = (
      metrics.readers as
        | { pull?: { exporter?: { prometheus?: { host?: string; port?: number } } } }[]
        | undefined
    )?.[0]?.pull?.exporter?.prometheus;
    const address =
      typeof metrics.address === 'string'
        ? metrics.address
        : prom?.port !== undefined
          ? `${prom.host ?? 'localhost'}:${prom.port}`
          : 'localhost:8888';
    out.metrics = `http://${dialable(address)}/metrics`;
  }
  return out;
}

function parseLogs(text: string): ProcessorLogLine[] {
  const out: ProcessorLogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const v: unknown = JSON.parse(line);
      if (isRecord(v) && typeof v.msg === 'string') out.push(v as ProcessorLogLine);
    } catch {
      // a line cut short by a crash, or not ours
    }
  }
  return out;
}

/**
 * Runs the llmobs processor (`node processors/src/main.ts --config FILE`) as a child process on the
 * config given, with free ports filled in, and waits until it is ready: health_check answers 200 when
 * the config has one, otherwise the "ready" log line. A lost race for a free port is retried with new ports.
 */
export async function startProcessor(opts: StartProcessorOptions): Promise<RunningProcessor> {
  const name = opts.name ?? 'llmobs-processor';
  const dir = mkdtempSync(join(tmpdir(), `llmobs-${name}-`));
  const configPath = join(dir, 'config.yaml');
  const args = [PROCESSOR_MAIN, '--config', configPath];
  if (opts.shutdownTimeout !== undefined) args.push('--shutdown-timeout', opts.shutdownTimeout);
  if (opts.watch === false) args.push('--no-watch');
  let writes = 0;
  const writeConfig = (text: string) => {
    // Write beside and rename: the processor watches the folder and must never read half a file.
    const tmp = join(dir, `.config-${++writes}.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, configPath);
  };

  const ports = new Map<string, number>();
  let proc: ManagedProcess | undefined;
  let endpoints: ProcessorEndpoints = {};
  for (let attempt = 1; ; attempt++) {
    ports.clear();
    await allocate(opts.config, ports);
    const text = renderConfig(opts.config, ports);
    endpoints = endpointsOf(text);
    writeConfig(text);
    const started = ManagedProcess.start({
      name,
      logDir: dir,
      command: process.execPath,
      args,
      env: { ...process.env, ...opts.env },
      cwd: repoRoot,
    });
    const health = endpoints.health;
    try {
      await started.waitUntil(
        async () =>
          health !== undefined
            ? httpOk(health)
            : parseLogs(readFileSync(started.logFile, 'utf8')).some((l) =>
                l.msg.startsWith('everything is ready'),
              ),
        health !== undefined ? `health_check at ${health} to answer 200` : 'the "ready" log line',
        opts.startTimeoutMs ?? 20_000,
      );
      proc = started;
      break;
    } catch (err) {
      await started.stop();
      if (attempt < 3 && ports.size > 0 && /EADDRINUSE|address already in use/.test(started.tail(20)))
        continue;
      throw err;
    }
  }
  const running = proc;
  const need = (what: keyof ProcessorEndpoints, label: string): string => {
    const v = endpoints[what];
    if (v === undefined) throw new Error(`the processor's config has no ${label}`);
    return v;
  };

  const metricsText = async () => {
    const url = need('metrics', 'self-metrics endpoint');
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
    return res.text();
  };
  const metric = async (metricName: string, labels: Readonly<Record<string, string>> = {}) =>
    sumSamples(parseExposition(await metricsText()), metricName, labels);
  // Kept when stop() removes the folder, so a test can still read what the process said last.
  let finalLog: string | undefined;
  const logs = () => {
    if (finalLog !== undefined) return parseLogs(finalLog);
    try {
      return parseLogs(readFileSync(running.logFile, 'utf8'));
    } catch {
      return [];
    }
  };

  return {
    get otlpHttpEndpoint() {
      return need('http', 'otlp receiver with protocols.http');
    },
    get otlpGrpcEndpoint() {
      return need('grpc', 'otlp receiver with protocols.grpc');
    },
    get metricsUrl() {
      return need('metrics', 'self-metrics endpoint');
    },
    get healthUrl() {
      return need('health', 'health_check extension');
    },
    configPath,
    get configText() {
      return readFileSync(configPath, 'utf8');
    },
    get ports() {
      return Object.fromEntries(ports);
    },
    process: running,
    logFile: running.logFile,
    logs,
    async waitForLog(predicate, what, timeoutMs = 10_000) {
      await running.waitUntil(async () => logs().some(predicate), what, timeoutMs);
    },
    metricsText,
    metric,
    async waitForMetric(metricName, labels, predicate, timeoutMs = 10_000) {
      let last: number | undefined;
      try {
        await running.waitUntil(
          async () => {
            last = await metric(metricName, labels);
            return predicate(last);
          },
          `${metricName}${JSON.stringify(labels)} to satisfy the predicate`,
          timeoutMs,
        );
      } catch (err) {
        throw new Error(`${(err as Error).message}\nlast value: ${last}`, { cause: err });
      }
      return last;
    },
    async healthy() {
      try {
        return await httpOk(need('health', 'health_check extension'));
      } catch {
        return false;
      }
    },
    async rewriteConfig(config) {
      await allocate(config, ports);
      writeConfig(renderConfig(config, ports));
    },
    async stop(graceMs = 30_000) {
      await running.stop(graceMs);
      await running.exited();
      // Output can still be on its way into the log file just after the exit.
      for (let size = -1, i = 0; i < 20; i++) {
        const now = statSync(running.logFile, { throwIfNoEntry: false })?.size ?? 0;
        if (now === size) break;
        size = now;
        await sleep(50);
      }
      const code = running.exitStatus?.code ?? null;
      // A process that did not exit cleanly keeps its folder: the log is what explains it.
      if (code === 0 && !process.env.LLMOBS_KEEP_TMP) {
        finalLog = readFileSync(running.logFile, 'utf8');
        rmSync(dir, { recursive: true, force: true });
      }
      return code;
    },
  };
}
