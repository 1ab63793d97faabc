import { Agent, request } from 'node:https';
import { join } from 'node:path';
import type { ControlPlane } from '../../test/harness/control-plane.ts';
import { kubeApply } from '../../test/harness/kube-apply.ts';
import { type Kwok, startKwok } from '../../test/harness/kwok.ts';
import {
  OPERATOR_MAIN,
  operatorFlags,
  operatorReady,
  startLlmobsControlPlane,
  validatingWebhookAt,
} from '../../test/harness/operator.ts';
import { freePorts } from '../../test/harness/ports.ts';
import { OperatorProcess } from './operator-process.ts';

export { POD_WEBHOOK_NAME } from '../../operator/src/webhook/webhook-config.ts';

export const OPERATOR_NAMESPACE = 'llmobs-system';

export interface BenchCluster {
  readonly cp: ControlPlane;
  readonly kwok: Kwok;
  readonly operator: OperatorProcess;
  readonly nodes: readonly string[];
  /** The operator's inspector port (for a forced garbage collection before memory readings). */
  readonly inspectPort: number;
  /** One request as the admin user over a keep-alive connection pool. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }>;
  operatorMetrics(): Promise<string>;
  apiserverMetrics(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * The real control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler), kwok with
 * `nodes` fake nodes, and the operator as its own process (`node operator/src/main.ts`), its pod webhook
 * and policy webhook registered with the apiserver by URL, as the operator's end-to-end test runs it.
 */
export async function startBenchCluster(o: {
  nodes: number;
  log: (line: string) => void;
}): Promise<BenchCluster> {
  const cp = await startLlmobsControlPlane({ scheduler: true, controllerManager: true });
  const stops: (() => Promise<void>)[] = [() => cp.stop()];
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const kwok = await startKwok(cp);
    stops.push(() => kwok.stop());
    const nodes: string[] = [];
    for (let i = 0; i < o.nodes; i++) {
      const name = `kwok-${i}`;
      await kwok.addNode(name);
      nodes.push(name);
    }
    const [webhook, metrics, health, inspect] = (await freePorts(4)) as [number, number, number, number];
    await kubeApply(cp, [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: OPERATOR_NAMESPACE } },
      validatingWebhookAt(webhook),
    ]);
    o.log(`control plane at ${cp.server}, ${nodes.length} kwok nodes; starting the operator`);
    const operator = new OperatorProcess(
      process.execPath,
      [
        `--inspect=127.0.0.1:${inspect}`,
        OPERATOR_MAIN,
        ...operatorFlags(cp, {
          namespace: OPERATOR_NAMESPACE,
          webhookPort: webhook,
          metricsPort: metrics,
          healthPort: health,
          leaderElect: true,
          validatingWebhookConfiguration: 'llmobs',
          processorImage: 'llmobs/processor:bench',
        }),
      ],
      join(cp.dir, 'llmobs-operator.log'),
    );
    stops.push(() => operator.stop());
    await operator.waitUntil(operatorReady(health), 'operator /readyz', 60_000);

    const agent = new Agent({
      keepAlive: true,
      // Enough that an open loop is never held back by its own pool (the apiserver's default limit on
      // mutating requests in flight is 200).
      maxSockets: 256,
      ca: cp.caPem,
      cert: cp.admin.certPem,
      key: cp.admin.keyPem,
    });
    stops.push(async () => agent.destroy());
    const server = new URL(cp.server);
    const api: BenchCluster['api'] = (method, path, body) =>
      new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const req = request(
          {
            agent,
            host: server.hostname,
            port: server.port,
            path,
            method,
            headers: payload === undefined ? {} : { 'content-type': 'application/json' },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
            );
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(payload);
      });
    return {
      cp,
      kwok,
      operator,
      nodes,
      inspectPort: inspect,
      api,
      async operatorMetrics() {
        const res = await fetch(`http://127.0.0.1:${metrics}/metrics`);
        if (!res.ok) throw new Error(`operator /metrics answered ${res.status}`);
        return res.text();
      },
      async apiserverMetrics() {
        const res = await api('GET', '/metrics');
        if (res.status !== 200) throw new Error(`apiserver /metrics answered ${res.status}`);
        return res.body;
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
