import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchCluster } from './cluster.ts';

export interface PodSpecOptions {
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * A pod as a Deployment would make it, bound to a kwok node (nodeName: the scheduler is not what is
 * measured), with limits large enough that the Python bundle is injected.
 */
export function podBody(o: PodSpecOptions): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: o.name,
      namespace: o.namespace,
      labels: o.labels,
      ...(o.annotations ? { annotations: o.annotations } : {}),
    },
    spec: {
      nodeName: o.node,
      containers: [
        {
          name: 'app',
          image: 'example.invalid/llm-app:1',
          env: [{ name: 'OPENAI_BASE_URL', value: 'http://llm-gateway:8080/v1' }],
          resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
        },
      ],
    },
  };
}

export interface CreateResult {
  /** Client round-trip of each successful POST, ms. */
  readonly latenciesMs: number[];
  readonly created: number;
  readonly failed: number;
  /** Created pods whose answer carries llmobs.dev/injection-status=injected. */
  readonly injected: number;
  /** Seconds from the first send to the last answer. */
  readonly elapsedS: number;
  /** The rate the sends actually kept (pods/s). */
  readonly sentPerSecond: number;
  readonly firstError?: string;
}

class Tally {
  readonly latenciesMs: number[] = [];
  created = 0;
  failed = 0;
  injected = 0;
  firstError: string | undefined;

  async create(cluster: BenchCluster, body: PodSpecOptions): Promise<void> {
    const t0 = performance.now();
    try {
      const res = await cluster.api('POST', `/api/v1/namespaces/${body.namespace}/pods`, podBody(body));
      if (res.status !== 201) {
        this.failed++;
        this.firstError ??= `${res.status} ${res.body.slice(0, 300)}`;
        return;
      }
      this.latenciesMs.push(performance.now() - t0);
      this.created++;
      if (res.body.includes('"llmobs.dev/injection-status":"injected"')) this.injected++;
    } catch (err) {
      this.failed++;
      this.firstError ??= (err as Error).message;
    }
  }

  result(startedAt: number, sent: number, sendSpanS: number): CreateResult {
    const elapsedS = (performance.now() - startedAt) / 1000;
    return {
      latenciesMs: this.latenciesMs,
      created: this.created,
      failed: this.failed,
      injected: this.injected,
      elapsedS,
      sentPerSecond: sent / Math.max(sendSpanS, 1e-9),
      ...(this.firstError ? { firstError: this.firstError } : {}),
    };
  }
}

/**
 * Open loop: pod i is sent at start + i/rate whatever happened to the earlier ones, so a slow answer
 * queues the next requests instead of slowing the offered load (no coordinated omission).
 */
export async function createPodsOpenLoop(
  cluster: BenchCluster,
  o: { rate: number; seconds: number; pod: (i: number) => PodSpecOptions },
): Promise<CreateResult> {
  const tally = new Tally();
  const total = Math.round(o.rate * o.seconds);
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / o.rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    inflight.push(tally.create(cluster, o.pod(i)));
  }
  const sendSpanS = (performance.now() - start) / 1000;
  await Promise.all(inflight);
  return tally.result(start, total, sendSpanS);
}

/** Closed loop: `count` pods through `concurrency` workers, as fast as the apiserver takes them. */
export async function createPodsClosedLoop(
  cluster: BenchCluster,
  o: { count: number; concurrency: number; pod: (i: number) => PodSpecOptions },
): Promise<CreateResult> {
  const tally = new Tally();
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      for (let i = next++; i < o.count; i = next++) await tally.create(cluster, o.pod(i));
    }),
  );
  const span = (performance.now() - start) / 1000;
  return tally.result(start, o.count, span);
}
