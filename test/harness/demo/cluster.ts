// The cluster half of `make demo`: a real control plane with a kwok node, the llmobs chart installed into
// it with helm, and the real operator process running on this machine in place of the chart's pod (which
// kwok only pretends to run), as the chart's ServiceAccount, with the chart's own flags, serving the
// chart's webhook configurations by URL.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppsV1Api, type V1Container } from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import { repoRoot } from '../cache.ts';
import { type ControlPlane, startControlPlane } from '../control-plane.ts';
import { helm } from '../helm.ts';
import { kubeRequest } from '../kube-apply.ts';
import { type Kwok, startKwok } from '../kwok.ts';
import { freePorts } from '../ports.ts';
import { httpOk, ManagedProcess } from '../process.ts';

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

/** The chart's args with each `--name=…` in `set` replaced (or added), in the chart's order. */
function withFlags(args: readonly string[], set: Readonly<Record<string, string>>): string[] {
  const out = args.filter((a) => !Object.keys(set).some((k) => a.startsWith(`--${k}=`)));
  for (const [k, v] of Object.entries(set)) out.push(`--${k}=${v}`);
  return out;
}

async function request(cp: ControlPlane, method: string, path: string, body?: unknown, type?: string) {
  const res = await kubeRequest(
    cp,
    method,
    path,
    body === undefined ? undefined : JSON.stringify(body),
    type,
  );
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.body}`);
  return JSON.parse(res.body) as unknown;
}

interface WebhookConfiguration {
  readonly webhooks?: readonly { clientConfig: { service?: { path?: string }; url?: string } }[];
}

/**
 * Points every webhook of one of the chart's configurations at `baseUrl` + the path its Service reference
 * had: what `kubectl patch` would do to run the operator out of cluster. The chart leaves caBundle to the
 * operator, which sets it once it has its certificate.
 */
async function pointAt(cp: ControlPlane, kind: string, name: string, baseUrl: string): Promise<void> {
  const path = `/apis/admissionregistration.k8s.io/v1/${kind}/${name}`;
  const cfg = (await request(cp, 'GET', path)) as WebhookConfiguration;
  const ops = (cfg.webhooks ?? []).flatMap((w, i) => [
    { op: 'remove', path: `/webhooks/${i}/clientConfig/service` },
    {
      op: 'add',
      path: `/webhooks/${i}/clientConfig/url`,
      value: `${baseUrl}${w.clientConfig.service?.path ?? ''}`,
    },
  ]);
  await request(cp, 'PATCH', `${path}?fieldManager=llmobs-demo`, ops, 'application/json-patch+json');
}

/** A kubeconfig that authenticates as `namespace/serviceAccount` with a fresh bound token. */
async function serviceAccountKubeconfig(
  cp: ControlPlane,
  namespace: string,
  serviceAccount: string,
  file: string,
): Promise<void> {
  const review = (await request(
    cp,
    'POST',
    `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`,
    { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 86_400 } },
  )) as { status: { token: string } };
  const user = `system:serviceaccount:${namespace}:${serviceAccount}`;
  writeFileSync(
    file,
    yaml.dump({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'demo',
          cluster: {
            server: cp.server,
            'certificate-authority-data': Buffer.from(cp.caPem).toString('base64'),
          },
        },
      ],
      users: [{ name: user, user: { token: review.status.token } }],
      contexts: [{ name: 'operator', context: { cluster: 'demo', user, namespace } }],
      'current-context': 'operator',
    }),
    { mode: 0o600 },
  );
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
    if (mutating) await pointAt(cp, 'mutatingwebhookconfigurations', mutating, webhookUrl);
    if (validating) await pointAt(cp, 'validatingwebhookconfigurations', validating, webhookUrl);

    const operatorKubeconfig = join(cp.dir, 'operator.kubeconfig');
    await serviceAccountKubeconfig(cp, RELEASE_NAMESPACE, serviceAccount, operatorKubeconfig);
    const args = withFlags(chartArgs, {
      kubeconfig: operatorKubeconfig,
      'webhook-url': webhookUrl,
      'webhook-port': String(webhookPort),
      'metrics-bind-address': `127.0.0.1:${metricsPort}`,
      'health-probe-bind-address': `127.0.0.1:${healthPort}`,
    });
    operator = ManagedProcess.start({
      name: 'llmobs-operator',
      logDir: cp.dir,
      command: process.execPath,
      args: [join(repoRoot, 'operator', 'src', 'main.ts'), ...args],
      env: { ...process.env, POD_NAMESPACE: RELEASE_NAMESPACE, POD_NAME: `${RELEASE}-operator-local` },
    });
    await operator.waitUntil(
      () => httpOk(`http://127.0.0.1:${healthPort}/readyz`),
      'operator /readyz',
      60_000,
    );
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
