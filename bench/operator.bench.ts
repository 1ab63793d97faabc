#!/usr/bin/env node
// The operator's benchmark (issue #4): webhook admission latency at a steady pod creation rate and the
// operator's apiserver requests per admission, the time 500 resources take to become Ready, and the
// operator's memory with 10,000 pods in the cluster. Method: docs/benchmarks.md, "The operator".
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { KUBE_REQUESTS_TOTAL } from '../operator/src/runtime/request-metrics.ts';
import { ADMISSION_DURATION, INJECTIONS_TOTAL } from '../operator/src/webhook/metrics.ts';
import { type BenchCluster, POD_WEBHOOK_NAME, startBenchCluster } from './operator/cluster.ts';
import { collectGarbage } from './operator/inspector.ts';
import { createPodsClosedLoop, createPodsOpenLoop } from './operator/pod-load.ts';
import {
  histogram,
  histogramDelta,
  parseSamples,
  quantile,
  type Sample,
  sum,
  sumBy,
} from './operator/prom-text.ts';
import {
  type LatencyRow,
  type MemoryRow,
  OPERATOR_BEGIN,
  OPERATOR_END,
  type OperatorBenchRun,
  type RequestRow,
  renderOperatorResults,
} from './operator/report.ts';
import { cpuSeconds, machine, memory, resetPeakRss } from './proc-stats.ts';
import { writeBlock } from './report.ts';
import { percentile } from './stats.ts';

const USAGE = `usage: node bench/operator.bench.ts [flags]
  --pods-per-second N     open-loop pod creation rate of the admission phase (default 100)
  --seconds N             length of the admission phase (default 30)
  --inject-namespaces N   namespaces of the admission phase, one LLMObservability each (default 10)
  --control-seconds N     seconds of opted-out pods at the same rate first, the webhook not called (default 10, 0: none)
  --resources N           LLMObservability resources of the reconcile phase (default 500)
  --resource-namespaces N namespaces they are spread over (default 50)
  --resource-mode M       sidecar (default: the operator alone) or gateway (Ready also waits for
                          kube-controller-manager, the scheduler and kwok to run each gateway Deployment)
  --pods N                pods in the cluster for the memory reading (default 10000)
  --nodes N               kwok nodes (default 25)
  --out FILE              document to rewrite (default docs/benchmarks.md)
  --no-write              print the section without rewriting the document
LLMOBS_KEEP_TMP=1 keeps the control plane's folder (every component's log, the operator's included).`;

const root = join(import.meta.dirname, '..');
const log = (line: string) => process.stderr.write(`[operator-bench] ${line}\n`);
const GROUP_PATH = '/apis/llmobs.dev/v1alpha1';

interface Options {
  readonly rate: number;
  readonly seconds: number;
  readonly injectNamespaces: number;
  readonly baselineSeconds: number;
  readonly resources: number;
  readonly resourceNamespaces: number;
  readonly resourceMode: 'sidecar' | 'gateway';
  readonly pods: number;
  readonly nodes: number;
  readonly out: string;
  readonly write: boolean;
  readonly argv: readonly string[];
}

function options(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      'pods-per-second': { type: 'string', default: '100' },
      seconds: { type: 'string', default: '30' },
      'inject-namespaces': { type: 'string', default: '10' },
      'control-seconds': { type: 'string', default: '10' },
      resources: { type: 'string', default: '500' },
      'resource-namespaces': { type: 'string', default: '50' },
      'resource-mode': { type: 'string', default: 'sidecar' },
      pods: { type: 'string', default: '10000' },
      nodes: { type: 'string', default: '25' },
      out: { type: 'string', default: join(root, 'docs', 'benchmarks.md') },
      'no-write': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return undefined;
  }
  const int = (k: keyof typeof values, min: number) => {
    const n = Number(values[k]);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${k} must be an integer >= ${min}`);
    return n;
  };
  const mode = String(values['resource-mode']);
  if (mode !== 'sidecar' && mode !== 'gateway') throw new Error('--resource-mode must be sidecar or gateway');
  return {
    rate: int('pods-per-second', 1),
    seconds: int('seconds', 1),
    injectNamespaces: int('inject-namespaces', 1),
    baselineSeconds: int('control-seconds', 0),
    resources: int('resources', 0),
    resourceNamespaces: int('resource-namespaces', 1),
    resourceMode: mode,
    pods: int('pods', 0),
    nodes: int('nodes', 1),
    out: String(values.out),
    write: !values['no-write'],
    argv,
  };
}

function llmObservability(
  namespace: string,
  name: string,
  mode: 'gateway' | 'sidecar',
  app?: string,
): object {
  return {
    apiVersion: 'llmobs.dev/v1alpha1',
    kind: 'LLMObservability',
    metadata: { name, namespace, labels: { 'llmobs-bench': 'true' } },
    spec: {
      processor: { mode },
      ...(app ? { selector: { matchLabels: { app } } } : {}),
      languages: ['python'],
      contentCapture: 'redacted',
      exporters: [{ name: 'tempo', endpoint: 'http://tempo.observability:4318', signals: ['traces'] }],
    },
  };
}

async function must(cluster: BenchCluster, method: string, path: string, body?: unknown): Promise<string> {
  const res = await cluster.api(method, path, body);
  if (res.status >= 300 && res.status !== 409)
    throw new Error(`${method} ${path}: ${res.status} ${res.body}`);
  return res.body;
}

async function createNamespaces(cluster: BenchCluster, names: readonly string[]): Promise<void> {
  for (const name of names) await must(cluster, 'POST', '/api/v1/namespaces', { metadata: { name } });
}

/** Pods in the cluster, from a one-item list's remainingItemCount (set only for lists without selectors). */
async function countPods(cluster: BenchCluster): Promise<number> {
  const list = JSON.parse(await must(cluster, 'GET', '/api/v1/pods?limit=1')) as {
    items: unknown[];
    metadata: { remainingItemCount?: number };
  };
  return list.items.length + (list.metadata.remainingItemCount ?? 0);
}

/** Whether any pod is still Pending (a one-item page is enough to tell). */
async function anyPending(cluster: BenchCluster): Promise<boolean> {
  const list = JSON.parse(
    await must(
      cluster,
      'GET',
      `/api/v1/pods?limit=1&fieldSelector=${encodeURIComponent('status.phase=Pending')}`,
    ),
  ) as { items: unknown[] };
  return list.items.length > 0;
}

interface ReadyCount {
  readonly total: number;
  readonly ready: number;
}

async function readyResources(cluster: BenchCluster, selector: string): Promise<ReadyCount> {
  const list = JSON.parse(
    await must(
      cluster,
      'GET',
      `${GROUP_PATH}/llmobservabilities?labelSelector=${encodeURIComponent(selector)}`,
    ),
  ) as {
    items: {
      metadata: { generation?: number };
      status?: { observedGeneration?: number; conditions?: { type: string; status: string }[] };
    }[];
  };
  const ready = list.items.filter(
    (i) =>
      i.status?.observedGeneration === i.metadata.generation &&
      i.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  ).length;
  return { total: list.items.length, ready };
}

async function waitReady(
  cluster: BenchCluster,
  selector: string,
  want: number,
  timeoutMs: number,
): Promise<{ ready: number; at: number | undefined }> {
  const deadline = performance.now() + timeoutMs;
  let last: ReadyCount = { total: 0, ready: 0 };
  while (performance.now() < deadline) {
    last = await readyResources(cluster, selector);
    if (last.ready >= want) return { ready: last.ready, at: performance.now() };
    await sleep(250);
  }
  return { ready: last.ready, at: undefined };
}

/** Reads the webhook would make from the apiserver if its informers did not answer. */
function onAdmissionPath(resource: string): boolean {
  return ['namespaces', 'llmobservabilities.llmobs.dev', 'llmobservabilitypolicies.llmobs.dev'].includes(
    resource,
  );
}

function requestDelta(before: readonly Sample[], after: readonly Sample[]): RequestRow[] {
  const b = sumBy(before, KUBE_REQUESTS_TOTAL, ['verb', 'resource']);
  const rows: RequestRow[] = [];
  for (const [key, value] of sumBy(after, KUBE_REQUESTS_TOTAL, ['verb', 'resource'])) {
    const n = value - (b.get(key) ?? 0);
    if (n <= 0) continue;
    const [verb = '', resource = ''] = key.split(' ');
    const read = verb === 'get' || verb === 'list';
    rows.push({ verb, resource, requests: n, admissionPath: read && onAdmissionPath(resource) });
  }
  return rows;
}

async function scrape(cluster: BenchCluster): Promise<{ op: Sample[]; api: Sample[] }> {
  const [op, api] = await Promise.all([cluster.operatorMetrics(), cluster.apiserverMetrics()]);
  return { op: parseSamples(op), api: parseSamples(api) };
}

async function admissionPhase(cluster: BenchCluster, o: Options): Promise<OperatorBenchRun['admission']> {
  const namespaces = Array.from({ length: o.injectNamespaces }, (_, i) => `llm-app-${i}`);
  await createNamespaces(cluster, namespaces);
  for (const ns of namespaces) {
    await must(
      cluster,
      'POST',
      `${GROUP_PATH}/namespaces/${ns}/llmobservabilities?fieldValidation=Strict`,
      llmObservability(ns, 'chat', 'gateway', 'chat'),
    );
  }
  log(
    `admission phase: ${namespaces.length} resources created; waiting until the webhook injects in each namespace`,
  );
  for (const ns of namespaces) {
    const deadline = performance.now() + 30_000;
    for (;;) {
      const res = await cluster.api('POST', `/api/v1/namespaces/${ns}/pods?dryRun=All`, {
        metadata: { name: 'probe', labels: { app: 'chat' } },
        spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
      });
      if (res.body.includes('"llmobs.dev/injection-status":"injected"')) break;
      if (performance.now() > deadline)
        throw new Error(`no injection in ${ns} after 30 s: ${res.status} ${res.body}`);
      await sleep(200);
    }
  }
  // The admission namespaces' gateways (kube-controller-manager, scheduler, kwok) settle first, so their
  // reconciles do not run during the measurement.
  const ready = await waitReady(cluster, 'llmobs-bench=true', namespaces.length, 90_000);
  log(`admission phase: ${ready.ready}/${namespaces.length} resources Ready; warming up`);
  const pod = (prefix: string) => (i: number) => ({
    namespace: namespaces[i % namespaces.length] as string,
    name: `${prefix}-${i}`,
    node: cluster.nodes[i % cluster.nodes.length] as string,
    labels: { app: 'chat', 'llmobs-bench': prefix },
  });
  await createPodsOpenLoop(cluster, { rate: o.rate, seconds: Math.min(5, o.seconds), pod: pod('warm') });
  await settle(cluster);
  // The control: the same pods at the same rate, opted out, so the apiserver's matchConditions skip the
  // webhook; what the apiserver and etcd of this machine do at this rate without the operator in the path.
  const baselineSeconds = Math.min(o.baselineSeconds, o.seconds);
  log(`admission phase: ${o.rate * baselineSeconds} opted-out pods at ${o.rate}/s (the webhook not called)`);
  // Scraping resets prom-client's event-loop histogram, so the scrape after the control covers it alone.
  await scrape(cluster);
  const baseline =
    baselineSeconds > 0
      ? await createPodsOpenLoop(cluster, {
          rate: o.rate,
          seconds: baselineSeconds,
          pod: (i) => ({ ...pod('optout')(i), annotations: { 'llmobs.dev/inject': 'false' } }),
        })
      : undefined;
  const afterControl = await scrape(cluster);
  const controlEventLoopMs = {
    p50: sum(afterControl.op, 'nodejs_eventloop_lag_p50_seconds') * 1000,
    p99: sum(afterControl.op, 'nodejs_eventloop_lag_p99_seconds') * 1000,
    max: sum(afterControl.op, 'nodejs_eventloop_lag_max_seconds') * 1000,
  };
  await settle(cluster);
  const memoryBefore = await memoryRow(cluster, 'before the admission phase (resources Ready, warm-up pods)');
  const before = await scrape(cluster);
  const pid = cluster.operator.pid ?? 0;
  const cpu0 = cpuSeconds(pid);
  log(`admission phase: creating ${o.rate * o.seconds} pods at ${o.rate}/s`);
  const load = await createPodsOpenLoop(cluster, { rate: o.rate, seconds: o.seconds, pod: pod('chat') });
  const operatorCpuS = cpuSeconds(pid) - cpu0;
  const load1 = loadavg()[0] ?? Number.NaN;
  // Events are written after the answer; give them a moment to leave before the second reading.
  await sleep(2_000);
  const after = await scrape(cluster);
  await settle(cluster);
  const memoryAfter = await memoryRow(cluster, 'after the admission phase (its pods Running and counted)');
  const own = histogramDelta(
    histogram(before.op, ADMISSION_DURATION),
    histogram(after.op, ADMISSION_DURATION),
  );
  const filter = { name: POD_WEBHOOK_NAME, operation: 'CREATE', type: 'admit' };
  const api = histogramDelta(
    histogram(before.api, 'apiserver_admission_webhook_admission_duration_seconds', filter),
    histogram(after.api, 'apiserver_admission_webhook_admission_duration_seconds', filter),
  );
  const admissions =
    (sumBy(after.op, INJECTIONS_TOTAL, []).get('') ?? 0) -
    (sumBy(before.op, INJECTIONS_TOTAL, []).get('') ?? 0);
  const latency: LatencyRow[] = [
    {
      what: 'webhook, its own histogram (`llmobs_webhook_admission_duration_seconds`: request in → answer written)',
      p50Ms: quantile(own, 0.5) * 1000,
      p99Ms: quantile(own, 0.99) * 1000,
      count: own.count,
      how: 'histogram_quantile over the phase',
    },
    {
      what: 'apiserver calling the webhook (`apiserver_admission_webhook_admission_duration_seconds`, TLS and HTTP included)',
      p50Ms: quantile(api, 0.5) * 1000,
      p99Ms: quantile(api, 0.99) * 1000,
      count: api.count,
      how: 'histogram_quantile over the phase',
    },
    {
      what: 'pod CREATE round trip seen by the client (admission, etcd write, answer)',
      p50Ms: percentile(load.latenciesMs, 50),
      p99Ms: percentile(load.latenciesMs, 99),
      count: load.latenciesMs.length,
      how: 'exact, every request',
    },
    ...(baseline
      ? [
          {
            what: `control: the same round trip for ${baselineSeconds} s of pods opted out (\`llmobs.dev/inject: "false"\`: the apiserver does not call the webhook)`,
            p50Ms: percentile(baseline.latenciesMs, 50),
            p99Ms: percentile(baseline.latenciesMs, 99),
            count: baseline.latenciesMs.length,
            how: 'exact, every request',
          },
        ]
      : []),
  ];
  return {
    rate: o.rate,
    seconds: o.seconds,
    namespaces: namespaces.length,
    sentPerSecond: load.sentPerSecond,
    created: load.created,
    failed: load.failed,
    injected: load.injected,
    admissions,
    operatorCpuS,
    elapsedS: load.elapsedS,
    loadAverage: load1,
    latency,
    requests: requestDelta(before.op, after.op),
    memory: [memoryBefore, memoryAfter],
    ...(baseline ? { controlEventLoopMs } : {}),
    // prom-client resets its event-loop histogram at every scrape: the second one covers the phase.
    eventLoopMs: {
      p50: sum(after.op, 'nodejs_eventloop_lag_p50_seconds') * 1000,
      p99: sum(after.op, 'nodejs_eventloop_lag_p99_seconds') * 1000,
      max: sum(after.op, 'nodejs_eventloop_lag_max_seconds') * 1000,
    },
    gcS: {
      all: sum(after.op, 'nodejs_gc_duration_seconds_sum') - sum(before.op, 'nodejs_gc_duration_seconds_sum'),
      major:
        sum(after.op, 'nodejs_gc_duration_seconds_sum', { kind: 'major' }) -
        sum(before.op, 'nodejs_gc_duration_seconds_sum', { kind: 'major' }),
    },
    ...(load.firstError ? { firstError: load.firstError } : {}),
  };
}

async function reconcilePhase(cluster: BenchCluster, o: Options): Promise<OperatorBenchRun['reconcile']> {
  const namespaces = Array.from({ length: o.resourceNamespaces }, (_, i) => `team-${i}`);
  await createNamespaces(cluster, namespaces);
  await sleep(2_000);
  await settle(cluster);
  const before = await scrape(cluster);
  log(`reconcile phase: creating ${o.resources} resources (${o.resourceMode} mode)`);
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = next++; i < o.resources; i = next++) {
        const ns = namespaces[i % namespaces.length] as string;
        const cr = llmObservability(ns, `svc-${i}`, o.resourceMode, `svc-${i}`) as {
          metadata: { labels: Record<string, string> };
        };
        cr.metadata.labels = { 'llmobs-bench-reconcile': 'true' };
        await must(
          cluster,
          'POST',
          `${GROUP_PATH}/namespaces/${ns}/llmobservabilities?fieldValidation=Strict`,
          cr,
        );
      }
    }),
  );
  const createdInS = (performance.now() - start) / 1000;
  const done = await waitReady(cluster, 'llmobs-bench-reconcile=true', o.resources, 180_000);
  await sleep(2_000);
  const after = await scrape(cluster);
  const h = histogramDelta(
    histogram(before.op, 'llmobs_operator_reconcile_duration_seconds'),
    histogram(after.op, 'llmobs_operator_reconcile_duration_seconds'),
  );
  const requests = requestDelta(before.op, after.op)
    .filter((r) => r.resource !== 'leases.coordination.k8s.io')
    .reduce((n, r) => n + r.requests, 0);
  return {
    resources: o.resources,
    namespaces: namespaces.length,
    mode: o.resourceMode,
    createdInS,
    allReadyInS: done.at === undefined ? undefined : (done.at - start) / 1000,
    ready: done.ready,
    reconciles: h.count,
    results: Object.fromEntries(
      [...sumBy(after.op, 'llmobs_operator_reconcile_total', ['result'])].map(([k, v]) => [
        k,
        v - (sumBy(before.op, 'llmobs_operator_reconcile_total', ['result']).get(k) ?? 0),
      ]),
    ),
    p50Ms: quantile(h, 0.5) * 1000,
    p99Ms: quantile(h, 0.99) * 1000,
    requests,
  };
}

/** The operator's memory after a forced full garbage collection, and its peak so far. */
async function memoryRow(cluster: BenchCluster, when: string): Promise<MemoryRow> {
  const pid = cluster.operator.pid ?? 0;
  const heap = await collectGarbage(cluster.inspectPort);
  const m = memory(pid);
  return {
    when,
    podsInCluster: await countPods(cluster),
    heapUsedBytes: heap.heapUsedBytes,
    rssBytes: m.rssBytes,
    hwmBytes: m.peakRssBytes,
  };
}

/**
 * Waits until kwok has every pod Running (each a status update the operator's pod watch receives) and
 * the operator's delayed reconciles have run; the seconds that took, undefined if pods stayed Pending.
 */
async function settle(cluster: BenchCluster): Promise<number | undefined> {
  const start = performance.now();
  let pending = await anyPending(cluster);
  while (pending && performance.now() < start + 120_000) {
    await sleep(1_000);
    pending = await anyPending(cluster);
  }
  const took = (performance.now() - start) / 1000;
  await sleep(3_000);
  return pending ? undefined : took;
}

async function memoryPhase(
  cluster: BenchCluster,
  o: Options,
  started: MemoryRow,
  admission: OperatorBenchRun['admission'],
): Promise<OperatorBenchRun['memory']> {
  const pid = cluster.operator.pid;
  if (pid === undefined) throw new Error('the operator has no pid');
  const reading = (when: string) => memoryRow(cluster, when);
  const namespaces = Array.from({ length: 10 }, (_, i) => `batch-${i}`);
  await createNamespaces(cluster, namespaces);
  const beforeRow = await reading('after the admission and reconcile phases');
  const add = Math.max(0, o.pods - beforeRow.podsInCluster);
  resetPeakRss(pid);
  log(`memory phase: ${beforeRow.podsInCluster} pods in the cluster; creating ${add} more`);
  const load = await createPodsClosedLoop(cluster, {
    count: add,
    concurrency: 32,
    pod: (i) => ({
      namespace: namespaces[i % namespaces.length] as string,
      name: `batch-${i}`,
      node: cluster.nodes[i % cluster.nodes.length] as string,
      labels: { app: 'batch' },
    }),
  });
  if (load.failed > 0) log(`memory phase: ${load.failed} creations failed, first: ${load.firstError}`);
  const runningAfterS = await settle(cluster);
  const afterRow = await reading(`with ${o.pods.toLocaleString('en-US')} pods`);
  return {
    rows: [started, ...admission.memory, beforeRow, afterRow],
    perInstrumentedPodHeapBytes:
      ((admission.memory[1]?.heapUsedBytes ?? 0) - (admission.memory[0]?.heapUsedBytes ?? 0)) /
      Math.max(admission.created, 1),
    added: load.created,
    createdPerSecond: load.created / load.elapsedS,
    perPodHeapBytes:
      load.created > 0 ? (afterRow.heapUsedBytes - beforeRow.heapUsedBytes) / load.created : Number.NaN,
    perPodRssBytes: load.created > 0 ? (afterRow.rssBytes - beforeRow.rssBytes) / load.created : Number.NaN,
    ...(runningAfterS !== undefined ? { allRunningAfterS: runningAfterS } : {}),
  };
}

async function main(): Promise<number> {
  const o = options(process.argv.slice(2));
  if (o === undefined) return 0;
  const began = performance.now();
  const cluster = await startBenchCluster({ nodes: o.nodes, log });
  const stop = () => {
    void cluster.stop().then(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const pid = cluster.operator.pid;
    if (pid === undefined) throw new Error('the operator has no pid');
    const version = JSON.parse(await must(cluster, 'GET', '/version')) as { gitVersion: string };
    const started = await memoryRow(cluster, 'operator started (caches synced)');
    const admission = await admissionPhase(cluster, o);
    log(`admission phase done: ${JSON.stringify(admission.latency.map((l) => [l.p50Ms, l.p99Ms]))}`);
    const reconcile = await reconcilePhase(cluster, o);
    log(
      `reconcile phase done: ${reconcile.ready}/${reconcile.resources} Ready in ${reconcile.allReadyInS} s`,
    );
    const mem = await memoryPhase(cluster, o, started, admission);
    const run: OperatorBenchRun = {
      date: new Date().toISOString().slice(0, 10),
      machine: machine(),
      kubernetes: version.gitVersion,
      node: process.version,
      command: ['node bench/operator.bench.ts', ...o.argv.filter((a) => a !== '--no-write')].join(' '),
      admission,
      reconcile,
      memory: mem,
    };
    const md = renderOperatorResults(run);
    process.stdout.write(`${md}\n`);
    if (o.write) {
      writeBlock(o.out, md, OPERATOR_BEGIN, OPERATOR_END);
      log(`wrote ${o.out}`);
    }
    log(`done in ${((performance.now() - began) / 1000).toFixed(0)} s`);
    return 0;
  } finally {
    log(`operator log: ${cluster.operator.logFile}`);
    await cluster.stop();
  }
}

process.exitCode = await main().catch((err: unknown) => {
  process.stderr.write(
    `operator bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  return 1;
});
