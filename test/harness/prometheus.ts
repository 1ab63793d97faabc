import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import * as yaml from 'js-yaml';
import { freePort } from './ports.ts';
import { httpOk, ManagedProcess } from './process.ts';
import { debianPackageBin } from './tools.ts';

const run = promisify(execFile);

export interface CheckResult {
  readonly ok: boolean;
  /** The tool's own words (stdout and stderr, trimmed). */
  readonly message: string;
}

export interface MetricsCheckResult extends CheckResult {
  /**
   * promtool's exit code: 0 clean, 3 parsed but with lint problems (e.g. a counter without `_total`),
   * 1 not parseable as the exposition format at all.
   */
  readonly exitCode: number;
  /** One entry per lint problem or parse error promtool reported. */
  readonly problems: readonly string[];
}

async function promtool(): Promise<string> {
  return join(await debianPackageBin('prometheus'), 'promtool');
}

function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `llmobs-${prefix}-`));
}

/** `promtool check config` on `config` (YAML text or an object to dump as YAML). */
export async function promtoolCheckConfig(config: string | object): Promise<CheckResult> {
  const bin = await promtool();
  const dir = tempDir('promtool');
  try {
    const file = join(dir, 'prometheus.yml');
    writeFileSync(
      file,
      typeof config === 'string' ? config : yaml.dump(config, { noRefs: true, lineWidth: -1 }),
    );
    try {
      const { stdout, stderr } = await run(bin, ['check', 'config', file]);
      return { ok: true, message: `${stdout}${stderr}`.trim() };
    } catch (err: unknown) {
      const e = err as { stdout?: string; stderr?: string };
      if (e.stdout === undefined && e.stderr === undefined) throw err;
      // stdout only says "Checking <file>"; the reason is on stderr.
      return { ok: false, message: (e.stderr?.trim() || e.stdout?.trim()) ?? String(err) };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `promtool check metrics` on Prometheus exposition text, the way promtool lints a /metrics page. */
export async function promtoolCheckMetrics(text: string): Promise<MetricsCheckResult> {
  const bin = await promtool();
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.on('error', reject);
    // promtool may stop reading early on a parse error; that is its verdict, not ours to report.
    child.stdin.on('error', () => {});
    child.on('close', (code) => {
      const exitCode = code ?? -1;
      const message = out.trim();
      const problems = message === '' ? [] : message.split('\n').map((l) => l.trim());
      resolve({ ok: exitCode === 0, exitCode, message, problems });
    });
    child.stdin.end(text);
  });
}

/** One sample of an instant-query result (vector or scalar). */
export interface PromSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
  /** Seconds since the epoch, as Prometheus reports it. */
  readonly timestamp: number;
}

/** Prometheus answered, and said the query itself is wrong (bad PromQL): retrying cannot help. */
export class PromQueryError extends Error {
  readonly errorType: string;
  constructor(errorType: string, message: string) {
    super(message);
    this.name = 'PromQueryError';
    this.errorType = errorType;
  }
}

export interface PrometheusOptions {
  /** `host:port` of each /metrics endpoint to scrape. */
  readonly scrapeTargets: readonly string[];
  /** Scrape (and rule evaluation) interval; 1 s unless told. */
  readonly scrapeIntervalMs?: number;
  /** The `job` label of the scraped series; `targets` unless told. */
  readonly jobName?: string;
  readonly metricsPath?: string;
  /**
   * Return only once every target has been scraped at least once (up or down); true unless told.
   * Prometheus 2.42 hands discovered targets to the scrape loop on a fixed 5 s tick, so the first
   * sample lands about 5 s after /-/ready whatever the scrape interval: better paid here than inside
   * each test's query timeout.
   */
  readonly waitForFirstScrape?: boolean;
}

export interface ScrapeTarget {
  readonly scrapeUrl: string;
  readonly health: string;
  readonly lastError: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface RunningPrometheus {
  /** Base URL, e.g. http://127.0.0.1:9090 */
  readonly url: string;
  readonly configPath: string;
  readonly process: ManagedProcess;
  /** Instant query at "now"; rejects with PromQueryError when Prometheus refuses the PromQL. */
  query(promql: string): Promise<PromSample[]>;
  /** Re-runs `promql` until `predicate` holds for its result; returns that result. */
  waitForQuery(
    promql: string,
    predicate: (r: PromSample[]) => boolean,
    timeoutMs?: number,
  ): Promise<PromSample[]>;
  /** The active scrape targets with their health and last scrape error. */
  targets(): Promise<ScrapeTarget[]>;
  stop(): Promise<void>;
}

interface ApiResponse<T> {
  readonly status: 'success' | 'error';
  readonly data?: T;
  readonly errorType?: string;
  readonly error?: string;
}

type QueryData =
  | { resultType: 'vector'; result: { metric: Record<string, string>; value: [number, string] }[] }
  | { resultType: 'scalar'; result: [number, string] }
  | { resultType: 'matrix' | 'string'; result: unknown };

function parseSampleValue(v: string): number {
  // Prometheus spells non-finite values as +Inf / -Inf / NaN.
  if (v === '+Inf') return Number.POSITIVE_INFINITY;
  if (v === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(v);
}

async function apiGet<T>(base: string, path: string): Promise<T> {
  const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(5_000) });
  const body = (await res.json()) as ApiResponse<T>;
  if (body.status !== 'success' || body.data === undefined) {
    throw new PromQueryError(body.errorType ?? `http ${res.status}`, body.error ?? JSON.stringify(body));
  }
  return body.data;
}

/** The prometheus.yml the harness runs: one static job over `opts.scrapeTargets`. */
export function prometheusConfig(opts: PrometheusOptions): object {
  const interval = `${opts.scrapeIntervalMs ?? 1_000}ms`;
  return {
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    scrape_configs: [
      {
        job_name: opts.jobName ?? 'targets',
        metrics_path: opts.metricsPath ?? '/metrics',
        static_configs: [{ targets: [...opts.scrapeTargets] }],
      },
    ],
  };
}

/**
 * Debian's Prometheus on a free loopback port with a throw-away TSDB, scraping `scrapeTargets`. The
 * config is checked with promtool first, so a bad one fails with promtool's message rather than as a
 * Prometheus that never becomes ready.
 */
export async function startPrometheus(opts: PrometheusOptions): Promise<RunningPrometheus> {
  const binDir = await debianPackageBin('prometheus');
  const config = yaml.dump(prometheusConfig(opts), { noRefs: true, lineWidth: -1 });
  const check = await promtoolCheckConfig(config);
  if (!check.ok) throw new Error(`promtool rejected the Prometheus config: ${check.message}\n${config}`);

  const dir = tempDir('prometheus');
  const configPath = join(dir, 'prometheus.yml');
  writeFileSync(configPath, config);
  const tsdb = join(dir, 'data');
  mkdirSync(tsdb);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = ManagedProcess.start({
    name: 'prometheus',
    logDir: dir,
    command: join(binDir, 'prometheus'),
    args: [
      `--config.file=${configPath}`,
      `--storage.tsdb.path=${tsdb}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=info',
    ],
  });
  const targets = async (): Promise<ScrapeTarget[]> => {
    const data = await apiGet<{ activeTargets: ScrapeTarget[] }>(url, '/api/v1/targets?state=active');
    return data.activeTargets.map((t) => ({
      scrapeUrl: t.scrapeUrl,
      health: t.health,
      lastError: t.lastError,
      labels: t.labels,
    }));
  };

  const stop = async () => {
    await proc.stop();
    if (!process.env.LLMOBS_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
  };
  try {
    await proc.waitUntil(() => httpOk(`${url}/-/ready`), 'Prometheus /-/ready', 30_000);
    if (opts.waitForFirstScrape ?? true) {
      await proc.waitUntil(
        async () => {
          const ts = await targets();
          return ts.length === new Set(opts.scrapeTargets).size && ts.every((t) => t.health !== 'unknown');
        },
        'the first scrape of every target',
        30_000,
      );
    }
  } catch (err) {
    // The folder stays: the error names the log file in it.
    await proc.stop();
    throw err;
  }

  const query = async (promql: string): Promise<PromSample[]> => {
    const data = await apiGet<QueryData>(url, `/api/v1/query?query=${encodeURIComponent(promql)}`);
    if (data.resultType === 'vector') {
      return data.result.map((r) => ({
        metric: r.metric,
        timestamp: r.value[0],
        value: parseSampleValue(r.value[1]),
      }));
    }
    if (data.resultType === 'scalar') {
      const [ts, v] = data.result as [number, string];
      return [{ metric: {}, timestamp: ts, value: parseSampleValue(v) }];
    }
    throw new Error(
      `query ${promql} returned a ${data.resultType}; only instant vectors and scalars are supported`,
    );
  };

  return {
    url,
    configPath,
    process: proc,
    query,
    targets,
    async waitForQuery(promql, predicate, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      let last: PromSample[] | undefined;
      let lastErr: unknown;
      while (Date.now() < deadline) {
        if (!proc.running) break;
        try {
          last = await query(promql);
          if (predicate(last)) return last;
        } catch (err) {
          if (err instanceof PromQueryError && err.errorType === 'bad_data') throw err;
          lastErr = err;
        }
        await sleep(250);
      }
      // Scrape health is usually the reason a series never shows up; say so.
      const health = await targets().then(
        (ts) =>
          ts.map((t) => `${t.scrapeUrl}: ${t.health}${t.lastError ? ` (${t.lastError})` : ''}`).join('; '),
        (err: unknown) => `targets unavailable: ${String(err)}`,
      );
      throw new Error(
        `Prometheus: ${promql} did not satisfy the predicate within ${timeoutMs} ms; last result ${JSON.stringify(last)}` +
          `${lastErr ? `, last error ${String(lastErr)}` : ''}; targets: ${health}\n${proc.tail(20)}`,
      );
    },
    stop,
  };
}

/** One sample line of the Prometheus text exposition format. */
export interface ExpositionSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const labelPair = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/y;

function unescapeLabel(v: string): string {
  return v.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
}

/**
 * Parses Prometheus text exposition (what a /metrics endpoint serves) into samples. Comments and
 * blank lines are skipped; a line that is not a sample throws, naming the line.
 */
export function parseExposition(text: string): ExpositionSample[] {
  const out: ExpositionSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = sampleLine.exec(line);
    if (!m?.[1] || m[3] === undefined) throw new Error(`not an exposition sample line: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    labelPair.lastIndex = 0;
    while (labelPair.lastIndex < body.length) {
      const start = labelPair.lastIndex;
      const lm = labelPair.exec(body);
      if (!lm?.[1] || lm[2] === undefined) {
        if (body.slice(start).trim() === '') break;
        throw new Error(`bad labels in exposition line: ${line}`);
      }
      labels[lm[1]] = unescapeLabel(lm[2]);
    }
    out.push({ name: m[1], labels, value: parseSampleValue(m[3]) });
  }
  return out;
}

/**
 * Sum of the samples named `name` whose labels include every pair in `labels`; undefined when no
 * series matches, so "absent" and "zero" stay distinguishable.
 */
export function sumSamples(
  samples: readonly ExpositionSample[],
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  let sum: number | undefined;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum = (sum ?? 0) + s.value;
  }
  return sum;
}

/** Runs promtool with `args` in `cwd`; ok when it exits 0, with everything it printed as the message. */
async function runPromtool(args: readonly string[], cwd: string): Promise<CheckResult> {
  const bin = await promtool();
  try {
    const { stdout, stderr } = await run(bin, [...args], { cwd, maxBuffer: 16 * 1024 * 1024 });
    return { ok: true, message: `${stdout}${stderr}`.trim() };
  } catch (err: unknown) {
    const e = err as { stdout?: string; stderr?: string };
    if (e.stdout === undefined && e.stderr === undefined) throw err;
    return { ok: false, message: `${e.stdout ?? ''}${e.stderr ?? ''}`.trim() };
  }
}

function yamlText(doc: string | object): string {
  return typeof doc === 'string' ? doc : yaml.dump(doc, { noRefs: true, lineWidth: -1 });
}

/** `promtool check rules` on a rule file (`{groups: [...]}`, YAML text or an object to dump as YAML). */
export async function promtoolCheckRules(rules: string | object): Promise<CheckResult> {
  const dir = tempDir('promtool-rules');
  try {
    writeFileSync(join(dir, 'rules.yaml'), yamlText(rules));
    return await runPromtool(['check', 'rules', 'rules.yaml'], dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `promtool test rules` on a unit-test file (YAML text or an object), with the rule files it lists in
 * `rule_files` written next to it under the given names. On failure the message is promtool's report
 * (which alerts were expected and which it got, at which evaluation time).
 */
export async function promtoolTestRules(
  tests: string | object,
  ruleFiles: Readonly<Record<string, string | object>>,
): Promise<CheckResult> {
  const dir = tempDir('promtool-test');
  try {
    for (const [name, rules] of Object.entries(ruleFiles)) writeFileSync(join(dir, name), yamlText(rules));
    writeFileSync(join(dir, 'tests.yaml'), yamlText(tests));
    return await runPromtool(['test', 'rules', 'tests.yaml'], dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
