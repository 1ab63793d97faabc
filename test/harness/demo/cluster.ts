// The cluster half of `make demo`: a real control plane with a kwok node, the llmobs chart installed into
// it with helm, and the real operator process running on this machine in place of the chart's pod (which
// kwok only pretends to run), as the chart's ServiceAccount, with the chart's own flags, serving the
// chart's webhook configurations by URL.
import { join } from 'node:path';
import { AppsV1Api, type V1Container } from '@kubernetes/client-node';
import { repoRoot } from '../cache.ts';
import { pointWebhooksAt, serviceAccountToken, withFlags } from '../chart-operator.ts';
import { type ControlPlane, startControlPlane } from '../control-plane.ts';
import { helm } from '../helm.ts';
import { writeKubeconfig } from '../kubeconfig.ts';
import { type Kwok, startKwok } from '../kwok.ts';
import { startOperator } from '../operator.ts';
import { freePorts } from '../ports.ts';
import type { ManagedProcess } from '../process.ts';

export const RELEASE = 'llmobs';
export const RELEASE_NAMESPACE = 'llmobs-system';
export const NODE_NAME = 'demo-node';

export interface DemoCluster {
  readonly cp: ControlPlane;
  readonly kwok: Kwok;
  /** The operator process (node operator/src/main.ts). */
  readonly operator: ManagedProcess;
  readonly operatorMetricsUrl: string;
  readonly webhookUrl: string;
  /** The kubeconfig the operator runs with: the chart's ServiceAccount's token. */
  readonly operatorKubeconfig: string;
  stop(): Promise<void>;
}

/** `--flag=value` → value, for the flags the chart passes. */
function flag(args: readonly string[], name: string): string | undefined {
  const prefix = `--${name}=`;
  return args.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

/** A kubeconfig that authenticates as `namespace/serviceAccount` with a fresh bound token. */
async function serviceAccountKubeconfig(
  cp: ControlPlane,
  namespace: string,
  serviceAccount: string,
  file: string,
): Promise<void> {
  const token = await serviceAccountToken(cp, namespace, serviceAccount, { expirationSeconds: 86_400 });
  writeKubeconfig(file, {
    server: cp.server,
    caPem: cp.caPem,
    cluster: 'demo',
    user: `system:serviceaccount:${namespace}:${serviceAccount}`,
    context: 'operator',
    namespace,
    credentials: { token },
  });
}

/** Control plane + kwok, `helm install` of the chart, and the operator running locally against it. */
export async function startCluster(say: (line: string) => void): Promise<DemoCluster> {
  const cp = await startControlPlane({ scheduler: true, controllerManager: true });
  let kwok: Kwok | undefined;
  let operator: ManagedProcess | undefined;
  const stop = async () => {
    // Short grace: after a Ctrl-C the apiserver may be gone already, and the operator's goodbye with it.
    await operator?.stop(2_000);
    await kwok?.stop();
    await cp.stop();
  };
  try {
    kwok = await startKwok(cp);
    await kwok.addNode(NODE_NAME);
    say(`  kube-apiserver + kwok        KUBECONFIG=${cp.kubeconfigPath}  (node ${NODE_NAME})`);

    const chartDir = join(repoRoot, 'charts', 'llmobs');
    await helm(
      [
        'install',
        RELEASE,
        chartDir,
        '--namespace',
        RELEASE_NAMESPACE,
        '--create-namespace',
        '--values',
        join(import.meta.dirname, 'values.yaml'),
        '--wait',
        '--timeout',
        '120s',
      ],
      { kubeconfig: cp.kubeconfigPath },
    );
    // What the chart deployed: its operator's flags and identity are what the local process runs with.
    const apps = cp.kubeConfig().makeApiClient(AppsV1Api);
    const deployments = await apps.listNamespacedDeployment({
      namespace: RELEASE_NAMESPACE,
      labelSelector: `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=operator`,
    });
    const dep = deployments.items[0];
    const container: V1Container | undefined = dep?.spec?.template.spec?.containers[0];
    const serviceAccount = dep?.spec?.template.spec?.serviceAccountName;
    if (!dep || !container || !serviceAccount)
      throw new Error(`helm install left no operator Deployment in ${RELEASE_NAMESPACE}`);
    const chartArgs = container.args ?? [];
    say(
      `  helm install ${RELEASE} charts/llmobs  namespace ${RELEASE_NAMESPACE}: operator Deployment ` +
        `${dep.metadata?.name} ${dep.status?.availableReplicas ?? 0}/${dep.spec?.replicas ?? 0} on kwok`,
    );

    const [webhookPort, metricsPort, healthPort] = (await freePorts(3)) as [number, number, number];
    const webhookUrl = `https://127.0.0.1:${webhookPort}`;
    const mutating = flag(chartArgs, 'mutating-webhook-configuration');
    const validating = flag(chartArgs, 'validating-webhook-configuration');
    if (mutating)
      await pointWebhooksAt(cp, 'mutatingwebhookconfigurations', mutating, webhookUrl, 'llmobs-demo');
    if (validating)
      await pointWebhooksAt(cp, 'validatingwebhookconfigurations', validating, webhookUrl, 'llmobs-demo');

    const operatorKubeconfig = join(cp.dir, 'operator.kubeconfig');
    await serviceAccountKubeconfig(cp, RELEASE_NAMESPACE, serviceAccount, operatorKubeconfig);
    const args = withFlags(chartArgs, {
      kubeconfig: operatorKubeconfig,
      'webhook-url': webhookUrl,
      'webhook-port': String(webhookPort),
      'metrics-bind-address': `127.0.0.1:${metricsPort}`,
      'health-probe-bind-address': `127.0.0.1:${healthPort}`,
    });
    operator = await startOperator({
      logDir: cp.dir,
      flags: args,
      healthPort,
      env: { ...process.env, POD_NAMESPACE: RELEASE_NAMESPACE, POD_NAME: `${RELEASE}-operator-local` },
    });
    say(
      `  llmobs operator (local)      node operator/src/main.ts as ${RELEASE_NAMESPACE}/${serviceAccount}, ` +
        `webhooks ${mutating ?? '-'} + ${validating ?? '-'} → ${webhookUrl}`,
    );
    return {
      cp,
      kwok,
      operator,
      operatorMetricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
      webhookUrl,
      operatorKubeconfig,
      stop,
    };
  } catch (err) {
    if (operator && !operator.running) {
      process.stderr.write(`operator log (${operator.logFile}):\n${operator.tail()}\n`);
    }
    await stop();
    throw err;
  }
}
