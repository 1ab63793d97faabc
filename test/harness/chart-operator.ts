// The chart's operator run on this machine in place of its pod: its webhook configurations pointed at
// a loopback URL, its ServiceAccount's token, its flags with the local ones put over them. Used by
// `make demo` (demo/cluster.ts) and the tests that run the operator on the chart's RBAC.
import { join } from 'node:path';
import type { ControlPlane } from './control-plane.ts';
import { kubeRequest } from './kube-apply.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { startOperator } from './operator.ts';
import { freePorts } from './ports.ts';
import type { ManagedProcess } from './process.ts';

/** The chart's args with each `--name=…` in `set` replaced (or added), in the chart's order. */
export function withFlags(args: readonly string[], set: Readonly<Record<string, string>>): string[] {
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
 * Points every webhook of one of the chart's configurations (`kind`: `mutatingwebhookconfigurations` or
 * `validatingwebhookconfigurations`) at `baseUrl` + the path its Service reference had: what
 * `kubectl patch` would do to run the operator out of cluster. The caBundle is left as it is.
 */
export async function pointWebhooksAt(
  cp: ControlPlane,
  kind: string,
  name: string,
  baseUrl: string,
  fieldManager?: string,
): Promise<void> {
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
  const query = fieldManager === undefined ? '' : `?fieldManager=${fieldManager}`;
  await request(cp, 'PATCH', `${path}${query}`, ops, 'application/json-patch+json');
}

/** A fresh bound token of `namespace/serviceAccount` (a TokenRequest with `spec`). */
export async function serviceAccountToken(
  cp: ControlPlane,
  namespace: string,
  serviceAccount: string,
  spec: Readonly<Record<string, unknown>> = {},
): Promise<string> {
  const review = (await request(
    cp,
    'POST',
    `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`,
    { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec },
  )) as { status: { token: string } };
  return review.status.token;
}

export interface ChartOperator {
  readonly process: ManagedProcess;
  readonly webhookPort: number;
  readonly metricsPort: number;
  readonly healthPort: number;
}

/**
 * The chart's operator (release `release` in `namespace`) run here as its ServiceAccount (`token`), with
 * the chart's flags and the local ones put over them (`flags` adds more), on free loopback ports; the
 * chart's two webhook configurations call it by URL. Its kubeconfig and log go in `dir`.
 */
export async function startChartOperator(o: {
  readonly cp: ControlPlane;
  readonly release: string;
  readonly namespace: string;
  readonly chartArgs: readonly string[];
  readonly token: string;
  readonly dir: string;
  readonly flags?: Readonly<Record<string, string>>;
  /** What the wait for /readyz is for, in its timeout message. */
  readonly what?: string;
}): Promise<ChartOperator> {
  const [webhookPort, metricsPort, healthPort] = (await freePorts(3)) as [number, number, number];
  const url = `https://127.0.0.1:${webhookPort}`;
  for (const kind of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'])
    await pointWebhooksAt(o.cp, kind, o.release, url);
  const kubeconfig = join(o.dir, 'operator.kubeconfig');
  writeKubeconfig(kubeconfig, {
    server: o.cp.server,
    caPem: o.cp.caPem,
    cluster: 'test',
    user: 'operator',
    context: 'operator',
    credentials: { token: o.token },
  });
  const operator = await startOperator({
    logDir: o.dir,
    flags: withFlags(o.chartArgs, {
      kubeconfig,
      'webhook-url': url,
      'webhook-port': String(webhookPort),
      'metrics-bind-address': `127.0.0.1:${metricsPort}`,
      'health-probe-bind-address': `127.0.0.1:${healthPort}`,
      ...o.flags,
    }),
    healthPort,
    env: { ...process.env, POD_NAMESPACE: o.namespace, POD_NAME: `${o.release}-operator-local` },
    ...(o.what ? { what: o.what } : {}),
  });
  return { process: operator, webhookPort, metricsPort, healthPort };
}
