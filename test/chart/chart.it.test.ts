import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as tlsConnect } from 'node:tls';
import * as yaml from 'js-yaml';
import { GENAI_METRICS_PORT_NAME, gatewayLabels } from '../../operator/src/manifests/gateway.ts';
import { PROCESSOR_PORTS } from '../../operator/src/manifests/processor-config.ts';
import { serviceAccountToken, startChartOperator } from '../harness/chart-operator.ts';
import { type ControlPlane, startControlPlane } from '../harness/control-plane.ts';
import { helm } from '../harness/helm.ts';
import { type KubeObject, kubeApply, kubeRequest } from '../harness/kube-apply.ts';
import { type Kwok, startKwok } from '../harness/kwok.ts';
import { type CertificateAuthority, type CertKeyPair, createCA, issueCert } from '../harness/pki.ts';
import type { ManagedProcess } from '../harness/process.ts';
import {
  chartCrdsDir,
  chartDir,
  ciValuesFiles,
  fixturesDir,
  readYaml,
  repoCrdsDir,
  type Values,
  yamlNames,
} from './chart.ts';

const RELEASE = 'llmobs';
const NS = 'llmobs-system';
const APP_VERSION = String((readYaml(join(chartDir, 'Chart.yaml')) as Values).appVersion);
const CRD_NAMES = ['llmobservabilities.llmobs.dev', 'llmobservabilitypolicies.llmobs.dev'];

interface PolicyRule {
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly verbs: readonly string[];
}

/** The ClusterRole the operator gets by default (operator-managed webhook TLS): README.md "RBAC". */
const EXPECTED_CLUSTER_RULES: readonly PolicyRule[] = [
  {
    apiGroups: ['llmobs.dev'],
    resources: ['llmobservabilities', 'llmobservabilitypolicies'],
    verbs: ['get', 'list', 'watch'],
  },
  { apiGroups: ['llmobs.dev'], resources: ['llmobservabilities/status'], verbs: ['patch'] },
  { apiGroups: ['llmobs.dev'], resources: ['llmobservabilities/finalizers'], verbs: ['update'] },
  { apiGroups: [''], resources: ['configmaps'], verbs: ['create', 'patch'] },
  { apiGroups: [''], resources: ['services'], verbs: ['create', 'patch', 'delete'] },
  { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
  {
    apiGroups: ['apps'],
    resources: ['deployments'],
    verbs: ['create', 'patch', 'delete', 'get', 'list', 'watch'],
  },
  { apiGroups: ['apps'], resources: ['statefulsets', 'daemonsets'], verbs: ['get', 'patch'] },
  { apiGroups: [''], resources: ['pods', 'namespaces'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['events'], verbs: ['create'] },
  {
    apiGroups: ['admissionregistration.k8s.io'],
    resources: ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'],
    resourceNames: [RELEASE],
    verbs: ['get', 'patch'],
  },
];

const LEASE_RULES: readonly PolicyRule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
  {
    apiGroups: ['coordination.k8s.io'],
    resources: ['leases'],
    resourceNames: [`${RELEASE}-operator-leader`],
    verbs: ['get', 'update'],
  },
];
const SECRET_RULES: readonly PolicyRule[] = [
  {
    apiGroups: [''],
    resources: ['secrets'],
    resourceNames: [`${RELEASE}-webhook-tls`],
    verbs: ['get', 'list', 'watch', 'update', 'patch'],
  },
];

/** The operator's command line for the defaults: what operator/src/main.ts must accept (README.md). */
const EXPECTED_DEFAULT_ARGS = [
  '--leader-elect',
  `--leader-election-id=${RELEASE}-operator-leader`,
  `--namespace=${NS}`,
  '--webhook-port=9443',
  `--webhook-service=${RELEASE}-webhook`,
  `--webhook-secret=${RELEASE}-webhook-tls`,
  `--mutating-webhook-configuration=${RELEASE}`,
  `--validating-webhook-configuration=${RELEASE}`,
  `--excluded-namespaces=kube-system,${NS},kube-public,kube-node-lease`,
  '--webhook-failure-policy=Ignore',
  '--webhook-timeout-seconds=5',
  '--metrics-bind-address=:8080',
  '--health-probe-bind-address=:8081',
  `--processor-image=ghcr.io/llmobs/processor:${APP_VERSION}`,
  `--instrumentation-image-python=ghcr.io/llmobs/autoinstrumentation-python:${APP_VERSION}`,
  `--instrumentation-image-nodejs=ghcr.io/llmobs/autoinstrumentation-nodejs:${APP_VERSION}`,
  '--log-level=info',
];

// ---------------------------------------------------------------------------------------------------------
// Rendering helpers

interface Container {
  readonly name: string;
  readonly image: string;
  readonly command?: string[];
  readonly args?: string[];
  readonly env?: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  readonly securityContext?: Values;
  readonly volumeMounts?: { name: string; mountPath: string }[];
  readonly imagePullPolicy?: string;
}
interface PodSpec {
  readonly containers: Container[];
  readonly securityContext?: Values;
  readonly volumes?: Values[];
  readonly imagePullSecrets?: { name: string }[];
  readonly hostNetwork?: boolean;
  readonly hostPID?: boolean;
  readonly hostIPC?: boolean;
}
interface Deployment extends KubeObject {
  readonly metadata: { name: string; namespace?: string; generation?: number };
  readonly spec: { replicas: number; template: { spec: PodSpec } };
  readonly status?: { observedGeneration?: number; updatedReplicas?: number; availableReplicas?: number };
}
interface Webhook {
  readonly name: string;
  readonly failurePolicy: string;
  readonly sideEffects: string;
  readonly clientConfig: {
    service: { name: string; namespace: string; path: string; port: number };
    caBundle?: string;
  };
  readonly namespaceSelector: { matchExpressions: { key: string; operator: string; values: string[] }[] };
  readonly objectSelector?: Values;
  readonly matchConditions?: { name: string; expression: string }[];
}
interface WebhookConfiguration extends KubeObject {
  readonly metadata: { name: string; annotations?: Record<string, string> };
  readonly webhooks: Webhook[];
}

async function render(valuesFile?: string, extra: readonly string[] = []): Promise<KubeObject[]> {
  const args = ['template', RELEASE, chartDir, '--namespace', NS, ...extra];
  if (valuesFile) args.push('--values', valuesFile);
  const { stdout } = await helm(args);
  return yaml.loadAll(stdout).filter((d): d is KubeObject => d !== null && typeof d === 'object');
}

function find<T extends KubeObject>(objs: readonly KubeObject[], kind: string, name?: string): T {
  const found = objs.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  assert.ok(found, `no ${kind}${name ? `/${name}` : ''} in ${objs.map((o) => o.kind).join(', ')}`);
  return found as T;
}

function kinds(objs: readonly KubeObject[]): string[] {
  return objs.map((o) => o.kind).sort();
}

function operatorContainer(objs: readonly KubeObject[]): Container {
  const c = find<Deployment>(objs, 'Deployment').spec.template.spec.containers[0];
  assert.ok(c);
  return c;
}

// ---------------------------------------------------------------------------------------------------------
// Apiserver helpers

const discovery = new Map<string, { name: string; kind: string; namespaced: boolean }[]>();

/** REST path of `obj` (its collection when `named` is false), found through discovery. */
async function pathOf(cp: ControlPlane, obj: KubeObject, named = true): Promise<string> {
  const base = obj.apiVersion.includes('/') ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
  let resources = discovery.get(base);
  if (!resources) {
    const res = await kubeRequest(cp, 'GET', base);
    assert.equal(res.status, 200, `discovery of ${base}: ${res.body}`);
    resources = (JSON.parse(res.body) as { resources: { name: string; kind: string; namespaced: boolean }[] })
      .resources;
    discovery.set(base, resources);
  }
  const r = resources.find((x) => x.kind === obj.kind && !x.name.includes('/'));
  assert.ok(r, `${obj.apiVersion} serves no ${obj.kind}`);
  const ns = r.namespaced ? `/namespaces/${obj.metadata.namespace ?? NS}` : '';
  return `${base}${ns}/${r.name}${named ? `/${obj.metadata.name}` : ''}`;
}

async function getJson<T>(cp: ControlPlane, path: string): Promise<{ status: number; body: T }> {
  const res = await kubeRequest(cp, 'GET', path);
  return { status: res.status, body: (res.status === 200 ? JSON.parse(res.body) : undefined) as T };
}

async function get<T>(cp: ControlPlane, path: string): Promise<T> {
  const res = await getJson<T>(cp, path);
  assert.equal(res.status, 200, `GET ${path}: ${res.status}`);
  return res.body;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(250);
  }
}

interface Pod {
  readonly metadata: { name: string; labels: Record<string, string>; deletionTimestamp?: string };
  readonly spec: { nodeName?: string; containers: Container[] };
  readonly status: { phase?: string; podIP?: string };
}

async function operatorPods(cp: ControlPlane): Promise<Pod[]> {
  const sel = encodeURIComponent(
    `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=operator`,
  );
  const list = await get<{ items: Pod[] }>(cp, `/api/v1/namespaces/${NS}/pods?labelSelector=${sel}`);
  return list.items;
}

/** Whether the apiserver's authorizer lets the operator's ServiceAccount do `attrs`. */
async function operatorMay(
  cp: ControlPlane,
  attrs: {
    verb: string;
    group?: string;
    resource: string;
    subresource?: string;
    namespace?: string;
    name?: string;
  },
): Promise<boolean> {
  const review = {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      user: `system:serviceaccount:${NS}:${RELEASE}-operator`,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${NS}`, 'system:authenticated'],
      resourceAttributes: { group: '', ...attrs },
    },
  };
  const res = await kubeRequest(
    cp,
    'POST',
    '/apis/authorization.k8s.io/v1/subjectaccessreviews',
    JSON.stringify(review),
  );
  assert.equal(res.status, 201, res.body);
  return (JSON.parse(res.body) as { status: { allowed: boolean } }).status.allowed;
}

/** Sum of an apiserver counter's series whose labels include `labels` (0 when it has none yet). */
async function apiserverCounter(
  cp: ControlPlane,
  metric: string,
  labels: Record<string, string>,
): Promise<number> {
  const res = await kubeRequest(cp, 'GET', '/metrics');
  assert.equal(res.status, 200);
  let sum = 0;
  for (const line of res.body.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const labelText = line.slice(metric.length + 1, line.lastIndexOf('}'));
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}

interface CrdDoc extends KubeObject {
  readonly metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  readonly spec: {
    versions: {
      name: string;
      additionalPrinterColumns: { name: string; type: string; jsonPath: string }[];
      schema: { openAPIV3Schema: { properties: { spec: { properties: Record<string, Values> } } } };
    }[];
  };
}

const crdPath = (name: string) => `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`;

/** Kinds of the objects of the release's manifest (what helm owns), per `helm get manifest`. */
async function manifestKinds(kubeconfig: string): Promise<string[]> {
  const { stdout } = await helm(['get', 'manifest', RELEASE, '--namespace', NS], { kubeconfig });
  return yaml
    .loadAll(stdout)
    .filter((d): d is KubeObject => d !== null && typeof d === 'object')
    .map((o) => o.kind);
}

async function waitEstablished(cp: ControlPlane, name: string): Promise<void> {
  await waitFor(`CRD ${name} Established`, async () => {
    const res = await getJson<{ status?: { conditions?: { type: string; status: string }[] } }>(
      cp,
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
    );
    return res.body?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')
      ? true
      : undefined;
  });
}

// ---------------------------------------------------------------------------------------------------------

describe('helm lint', () => {
  for (const file of ciValuesFiles()) {
    test(`passes --strict with ci/${basename(file)}`, async () => {
      const { stdout } = await helm(['lint', chartDir, '--strict', '--namespace', NS, '--values', file]);
      assert.match(stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    });
  }
});

describe('the default render', () => {
  let objs: KubeObject[];
  before(async () => {
    objs = await render();
  });

  test('holds the CRDs, the operator, its RBAC, the Services, the webhooks and a PDB', () => {
    assert.deepEqual(kinds(objs), [
      'ClusterRole',
      'ClusterRoleBinding',
      'CustomResourceDefinition',
      'CustomResourceDefinition',
      'Deployment',
      'MutatingWebhookConfiguration',
      'PodDisruptionBudget',
      'Role',
      'RoleBinding',
      'Service',
      'Service',
      'ServiceAccount',
      'ValidatingWebhookConfiguration',
    ]);
    for (const o of objs) {
      assert.equal(
        (o.metadata as { labels?: Record<string, string> }).labels?.['app.kubernetes.io/part-of'],
        'llmobs',
      );
    }
  });

  test('uses no :latest image: every image is tagged with the chart appVersion', () => {
    const c = operatorContainer(objs);
    const refs = [
      c.image,
      ...(c.args ?? []).filter((a) => /^--[a-z]+-image(-[a-z]+)?=/.test(a)).map((a) => a.split('=')[1]),
    ];
    assert.equal(refs.length, 4);
    for (const ref of refs) {
      assert.doesNotMatch(ref ?? '', /:latest$/);
      assert.ok(ref?.endsWith(`:${APP_VERSION}`), `${ref} is not tagged ${APP_VERSION}`);
    }
  });

  test('passes the operator exactly the documented flags, and POD_NAMESPACE / POD_NAME from the downward API', () => {
    const c = operatorContainer(objs);
    assert.deepEqual(c.command, ['node', 'operator/src/main.ts']);
    assert.deepEqual(c.args, EXPECTED_DEFAULT_ARGS);
    assert.deepEqual(
      c.env?.map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]),
      [
        ['POD_NAMESPACE', 'metadata.namespace'],
        ['POD_NAME', 'metadata.name'],
      ],
    );
  });

  test('runs the operator under a restricted-PSS security context', () => {
    const dep = find<Deployment>(objs, 'Deployment');
    const pod = dep.spec.template.spec;
    assert.equal(pod.securityContext?.runAsNonRoot, true);
    assert.deepEqual(pod.securityContext?.seccompProfile, { type: 'RuntimeDefault' });
    assert.ok(!pod.hostNetwork && !pod.hostPID && !pod.hostIPC);
    assert.ok((pod.volumes ?? []).every((v) => !('hostPath' in v)));
    const sc = operatorContainer(objs).securityContext ?? {};
    assert.equal(sc.allowPrivilegeEscalation, false);
    assert.equal(sc.privileged, false);
    assert.equal(sc.readOnlyRootFilesystem, true);
    assert.deepEqual(sc.capabilities, { drop: ['ALL'] });
  });

  test('grants the operator exactly the RBAC table, leases and its Secret by name in the release namespace only', () => {
    assert.deepEqual(
      find<KubeObject & { rules: PolicyRule[] }>(objs, 'ClusterRole').rules,
      EXPECTED_CLUSTER_RULES,
    );
    const role = find<KubeObject & { rules: PolicyRule[] }>(objs, 'Role');
    assert.equal(role.metadata.namespace, NS);
    assert.deepEqual(role.rules, [...LEASE_RULES, ...SECRET_RULES]);
  });

  test('declares the webhooks: pods fail open and skip opted-out pods, LLMObservability validation fails closed', () => {
    const m = find<WebhookConfiguration>(objs, 'MutatingWebhookConfiguration');
    const v = find<WebhookConfiguration>(objs, 'ValidatingWebhookConfiguration');
    const [pods] = m.webhooks;
    const [crs] = v.webhooks;
    assert.ok(pods && crs && m.webhooks.length === 1 && v.webhooks.length === 1);
    assert.deepEqual(
      [pods.failurePolicy, pods.sideEffects, pods.clientConfig.service, pods.clientConfig.caBundle],
      [
        'Ignore',
        'NoneOnDryRun',
        { name: `${RELEASE}-webhook`, namespace: NS, path: '/mutate-v1-pod', port: 443 },
        undefined,
      ],
    );
    assert.deepEqual(
      [crs.failurePolicy, crs.sideEffects, crs.clientConfig.service.path, crs.clientConfig.caBundle],
      ['Fail', 'None', '/validate-llmobs-dev-v1alpha1-llmobservability', undefined],
    );
    for (const w of [pods, crs]) {
      assert.deepEqual(w.namespaceSelector.matchExpressions, [
        {
          key: 'kubernetes.io/metadata.name',
          operator: 'NotIn',
          values: ['kube-system', NS, 'kube-public', 'kube-node-lease'],
        },
      ]);
    }
    assert.match(JSON.stringify(pods.objectSelector), /app\.kubernetes\.io\/part-of.*NotIn.*llmobs/);
    assert.deepEqual(
      pods.matchConditions?.map((c) => c.name),
      ['not-opted-out', 'not-already-instrumented'],
    );
    assert.equal(pods.name, 'inject.pods.llmobs.dev', 'the name the operator’s own code uses');
    assert.equal(m.metadata.annotations, undefined, 'no cert-manager annotation without cert-manager');
  });

  test('points the webhook Service at the webhook port (443 → 9443) and the metrics Service at 8080', () => {
    type Svc = KubeObject & { spec: { ports: { port: number; targetPort: string }[] } };
    const webhook = find<Svc>(objs, 'Service', `${RELEASE}-webhook`);
    const metrics = find<Svc>(objs, 'Service', `${RELEASE}-metrics`);
    assert.deepEqual(
      webhook.spec.ports.map((p) => [p.port, p.targetPort]),
      [[443, 'webhook']],
    );
    assert.deepEqual(
      metrics.spec.ports.map((p) => [p.port, p.targetPort]),
      [[8080, 'http-metrics']],
    );
    const ports = (
      operatorContainer(objs) as Container & { ports: { name: string; containerPort: number }[] }
    ).ports;
    assert.deepEqual(
      ports.map((p) => [p.name, p.containerPort]),
      [
        ['webhook', 9443],
        ['http-metrics', 8080],
        ['health', 8081],
      ],
    );
  });
});

describe('the CRDs the chart renders (crds.install, crds.keep)', () => {
  type Crd = KubeObject & {
    metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    spec: Values;
  };
  const crdsOf = (objs: readonly KubeObject[]) =>
    objs.filter((o): o is Crd => o.kind === 'CustomResourceDefinition');

  test('are crds/*.yaml as written, with the chart’s labels and helm.sh/resource-policy: keep', async () => {
    const rendered = crdsOf(await render());
    const sources = yamlNames(repoCrdsDir).map((n) => readYaml(join(repoCrdsDir, n)) as Crd);
    assert.deepEqual(rendered.map((c) => c.metadata.name).sort(), sources.map((c) => c.metadata.name).sort());
    for (const source of sources) {
      const crd = rendered.find((c) => c.metadata.name === source.metadata.name);
      assert.ok(crd);
      assert.equal(crd.apiVersion, source.apiVersion);
      assert.deepEqual(
        crd.spec,
        source.spec,
        `${source.metadata.name}: the spec went through helm unchanged`,
      );
      assert.deepEqual(crd.metadata.annotations, { 'helm.sh/resource-policy': 'keep' });
      assert.equal(crd.metadata.labels?.['app.kubernetes.io/component'], 'crd');
      assert.equal(crd.metadata.labels?.['app.kubernetes.io/part-of'], 'llmobs');
      assert.equal(crd.metadata.labels?.['app.kubernetes.io/instance'], RELEASE);
    }
  });

  test('crds.keep=false renders them without the keep policy; crds.install=false renders none', async () => {
    const unkept = crdsOf(await render(undefined, ['--set', 'crds.keep=false']));
    assert.equal(unkept.length, CRD_NAMES.length);
    for (const crd of unkept) assert.equal(crd.metadata.annotations, undefined);
    const none = await render(undefined, ['--set', 'crds.install=false']);
    assert.deepEqual(crdsOf(none), []);
    assert.deepEqual(
      kinds(none),
      kinds(await render()).filter((k) => k !== 'CustomResourceDefinition'),
    );
  });
});

describe('the scenario renders', () => {
  const ci = (name: string) => join(chartDir, 'ci', `${name}-values.yaml`);

  test('cert-manager: a Certificate and self-signed Issuer, CA injection, the Secret mounted, no Secret or caBundle rights', async () => {
    const objs = await render(ci('cert-manager'));
    const cert = find<KubeObject & { spec: { secretName: string; dnsNames: string[]; issuerRef: Values } }>(
      objs,
      'Certificate',
    );
    assert.equal(cert.spec.secretName, `${RELEASE}-webhook-tls`);
    assert.ok(cert.spec.dnsNames.includes(`${RELEASE}-webhook.${NS}.svc`));
    assert.deepEqual(cert.spec.issuerRef, {
      name: `${RELEASE}-selfsigned`,
      kind: 'Issuer',
      group: 'cert-manager.io',
    });
    find(objs, 'Issuer', `${RELEASE}-selfsigned`);
    find(objs, 'ServiceMonitor');
    for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
      assert.equal(
        find<WebhookConfiguration>(objs, kind).metadata.annotations?.['cert-manager.io/inject-ca-from'],
        `${NS}/${cert.metadata.name}`,
      );
    }
    const args = operatorContainer(objs).args ?? [];
    assert.ok(args.includes('--webhook-cert-dir=/var/run/llmobs/webhook-certs'));
    assert.ok(!args.some((a) => a.startsWith('--webhook-secret')));
    assert.deepEqual(
      operatorContainer(objs).volumeMounts?.map((m) => m.mountPath),
      ['/tmp', '/var/run/llmobs/webhook-certs'],
    );
    assert.deepEqual(
      find<KubeObject & { rules: PolicyRule[] }>(objs, 'ClusterRole').rules,
      EXPECTED_CLUSTER_RULES.slice(0, -1),
    );
    assert.deepEqual(find<KubeObject & { rules: PolicyRule[] }>(objs, 'Role').rules, LEASE_RULES);
  });

  test('cert-manager with an existing ClusterIssuer creates no Issuer', async () => {
    const objs = await render(ci('cert-manager'), [
      '--set',
      'webhook.tls.certManager.issuerRef.name=corp-ca,webhook.tls.certManager.issuerRef.kind=ClusterIssuer',
    ]);
    assert.ok(!objs.some((o) => o.kind === 'Issuer'));
    const cert = find<KubeObject & { spec: { issuerRef: Values } }>(objs, 'Certificate');
    assert.deepEqual(cert.spec.issuerRef, {
      name: 'corp-ca',
      kind: 'ClusterIssuer',
      group: 'cert-manager.io',
    });
  });

  test('tls-secret: the user’s Secret mounted and served, its CA in both caBundles, no cert-manager objects and no Secret or caBundle rights', async () => {
    const file = ci('tls-secret');
    const objs = await render(file);
    const tls = (((readYaml(file) as Values).webhook as Values).tls as Values).secret as Values;
    const pem = String(tls.caBundle);
    assert.match(pem, /^-----BEGIN CERTIFICATE-----\n/);
    const caBundle = Buffer.from(pem).toString('base64');
    for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
      const cfg = find<WebhookConfiguration>(objs, kind);
      assert.equal(cfg.webhooks[0]?.clientConfig.caBundle, caBundle, kind);
      assert.equal(cfg.metadata.annotations, undefined, `${kind}: no CA injection`);
    }
    assert.ok(!objs.some((o) => o.kind === 'Certificate' || o.kind === 'Issuer'));
    const c = operatorContainer(objs);
    assert.ok(c.args?.includes('--webhook-cert-dir=/var/run/llmobs/webhook-certs'));
    assert.ok(!c.args?.some((a) => a.startsWith('--webhook-secret')));
    assert.deepEqual(
      c.volumeMounts?.map((m) => m.mountPath),
      ['/tmp', '/var/run/llmobs/webhook-certs'],
    );
    const volume = find<Deployment>(objs, 'Deployment').spec.template.spec.volumes?.find(
      (v) => v.name === 'webhook-cert',
    );
    assert.deepEqual(volume?.secret, { secretName: String(tls.name), defaultMode: 0o440 });
    // The same volume in the other mounted mode, with the same mode bits.
    const cm = find<Deployment>(await render(ci('cert-manager')), 'Deployment').spec.template.spec.volumes;
    assert.deepEqual(cm?.find((v) => v.name === 'webhook-cert')?.secret, {
      secretName: `${RELEASE}-webhook-tls`,
      defaultMode: 0o440,
    });
    assert.deepEqual(
      find<KubeObject & { rules: PolicyRule[] }>(objs, 'ClusterRole').rules,
      EXPECTED_CLUSTER_RULES.slice(0, -1),
    );
    assert.deepEqual(find<KubeObject & { rules: PolicyRule[] }>(objs, 'Role').rules, LEASE_RULES);

    // The same CA given already in base64 renders the same caBundle.
    const fromBase64 = await render(file, ['--set', `webhook.tls.secret.caBundle=${caBundle}`]);
    assert.equal(
      find<WebhookConfiguration>(fromBase64, 'MutatingWebhookConfiguration').webhooks[0]?.clientConfig
        .caBundle,
      caBundle,
    );
  });

  test('tls-secret: helm refuses the mode without the Secret’s name, naming the key', async () => {
    await assert.rejects(
      render(undefined, [
        '--set',
        'webhook.tls.mode=secret,webhook.tls.secret.caBundle=-----BEGIN CERTIFICATE-----',
      ]),
      /at '\/webhook\/tls\/secret\/name': minLength: got 0, want 1/,
    );
  });

  test('without LLMObservability validation: no ValidatingWebhookConfiguration and no flag naming one', async () => {
    const objs = await render(undefined, ['--set', 'webhook.llmObservabilities.enabled=false']);
    assert.ok(!objs.some((o) => o.kind === 'ValidatingWebhookConfiguration'));
    find(objs, 'MutatingWebhookConfiguration');
    const args = operatorContainer(objs).args ?? [];
    assert.ok(!args.some((a) => a.startsWith('--validating-webhook-configuration')));
    assert.ok(args.includes(`--mutating-webhook-configuration=${RELEASE}`));
  });

  test('single replica: no leader election, no Lease rules, no PodDisruptionBudget', async () => {
    const objs = await render(ci('single-replica'));
    assert.equal(find<Deployment>(objs, 'Deployment').spec.replicas, 1);
    assert.ok(!objs.some((o) => o.kind === 'PodDisruptionBudget'));
    assert.ok(!(operatorContainer(objs).args ?? []).some((a) => a.startsWith('--leader-elect')));
    assert.deepEqual(find<KubeObject & { rules: PolicyRule[] }>(objs, 'Role').rules, SECRET_RULES);
  });

  test('observability: monitors for the operator and the gateways, the alerts, the dashboard, a NetworkPolicy and the default policy', async () => {
    const objs = await render(ci('observability'));
    assert.deepEqual(
      kinds(objs),
      [
        ...kinds(await render()),
        'ConfigMap',
        'LLMObservabilityPolicy',
        'NetworkPolicy',
        'PodMonitor',
        'PrometheusRule',
        'ServiceMonitor',
      ].sort(),
    );
    for (const kind of ['ServiceMonitor', 'PodMonitor', 'PrometheusRule']) {
      const o = find<KubeObject & { metadata: { labels: Record<string, string> } }>(objs, kind);
      assert.equal(o.metadata.labels.release, 'prometheus', kind);
      assert.equal(o.metadata.namespace, NS, kind);
    }

    // The PodMonitor finds what the operator creates: its gateway labels, its container port names.
    type PodMonitor = KubeObject & {
      spec: {
        selector: { matchLabels: Record<string, string> };
        namespaceSelector: Values;
        podMetricsEndpoints: { port: string; path: string; interval: string }[];
      };
    };
    const pm = find<PodMonitor>(objs, 'PodMonitor', `${RELEASE}-processor`);
    const gateway = gatewayLabels({
      apiVersion: 'llmobs.dev/v1alpha1',
      kind: 'LLMObservability',
      metadata: { name: 'chat', namespace: 'team-a' },
    });
    assert.deepEqual(Object.keys(pm.spec.selector.matchLabels).sort(), [
      'app.kubernetes.io/component',
      'app.kubernetes.io/managed-by',
      'app.kubernetes.io/name',
    ]);
    for (const [k, v] of Object.entries(pm.spec.selector.matchLabels)) assert.equal(gateway[k], v, k);
    assert.deepEqual(pm.spec.namespaceSelector, { any: true });
    assert.deepEqual(
      pm.spec.podMetricsEndpoints.map((e) => [e.port, e.path, e.interval]),
      [
        ['metrics', '/metrics', '15s'],
        [GENAI_METRICS_PORT_NAME, '/metrics', '15s'],
      ],
    );
    assert.deepEqual([PROCESSOR_PORTS.metrics, PROCESSOR_PORTS.genaiMetrics], [8888, 8889]);
    const onlyIn = await render(ci('observability'), [
      '--set',
      'metrics.podMonitor.namespaces={team-a,team-b}',
    ]);
    assert.deepEqual(find<PodMonitor>(onlyIn, 'PodMonitor').spec.namespaceSelector, {
      matchNames: ['team-a', 'team-b'],
    });

    // The NetworkPolicy opens exactly the operator's container ports, and egress to the apiserver and DNS.
    type Port = { port: number; protocol: string };
    type NetworkPolicy = KubeObject & {
      spec: {
        podSelector: { matchLabels: Record<string, string> };
        policyTypes: string[];
        ingress: { from?: Values[]; ports: Port[] }[];
        egress: { to?: Values[]; ports: Port[] }[];
      };
    };
    const np = find<NetworkPolicy>(objs, 'NetworkPolicy', `${RELEASE}-operator`);
    const dep = find<Deployment>(objs, 'Deployment');
    assert.deepEqual(np.spec.podSelector.matchLabels, {
      'app.kubernetes.io/name': 'llmobs',
      'app.kubernetes.io/instance': RELEASE,
      'app.kubernetes.io/component': 'operator',
    });
    assert.deepEqual(np.spec.policyTypes, ['Ingress', 'Egress']);
    const containerPorts = (
      dep.spec.template.spec.containers[0] as Container & { ports: { containerPort: number }[] }
    ).ports.map((p) => p.containerPort);
    assert.deepEqual(
      np.spec.ingress.flatMap((r) => r.ports.map((p) => p.port)).sort(),
      [...containerPorts].sort(),
    );
    const [fromAnywhere, metrics] = np.spec.ingress;
    assert.equal(fromAnywhere?.from, undefined, 'the webhook is reachable from any apiserver address');
    assert.deepEqual(
      fromAnywhere?.ports.map((p) => p.port),
      [9443, 8081],
    );
    assert.deepEqual(metrics?.from, [
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
      },
    ]);
    const [apiserver, dns] = np.spec.egress;
    assert.deepEqual(apiserver, {
      ports: [{ port: 6443, protocol: 'TCP' }],
      to: [{ ipBlock: { cidr: '10.0.0.1/32' } }, { ipBlock: { cidr: '172.20.0.0/16' } }],
    });
    assert.deepEqual(
      dns?.ports.map((p) => `${p.port}/${p.protocol}`),
      ['53/UDP', '53/TCP'],
    );
    assert.equal(np.spec.egress.length, 2);

    // The default policy, cluster-scoped, with the scenario's selector and endpoints and the chart's floors.
    const policy = find<KubeObject & { spec: Values }>(objs, 'LLMObservabilityPolicy', `${RELEASE}-default`);
    assert.equal(policy.metadata.namespace, undefined);
    assert.deepEqual(policy.spec, {
      namespaceSelector: {
        matchExpressions: [{ key: 'llmobs.dev/policy', operator: 'NotIn', values: ['exempt'] }],
      },
      redaction: {
        requiredEntities: ['email', 'phone_number', 'credit_card', 'iban', 'us_ssn', 'api_key', 'jwt'],
      },
      contentCapture: { maxLevel: 'redacted' },
      exporters: {
        allowedEndpoints: ['http://tempo-distributor.observability:*', 'http://datadog-agent.datadog:4318'],
      },
    });

    const cm = find<KubeObject & { metadata: { labels: Record<string, string>; annotations: Values } }>(
      objs,
      'ConfigMap',
      `${RELEASE}-dashboard`,
    );
    assert.equal(cm.metadata.namespace, 'monitoring');
    assert.equal(cm.metadata.labels.grafana_dashboard, '1');
    assert.deepEqual(cm.metadata.annotations, { grafana_folder: 'LLM' });
  });

  test('NetworkPolicy defaults: metrics from every pod, apiserver ports to any address', async () => {
    const objs = await render(undefined, ['--set', 'networkPolicy.enabled=true']);
    const np = find<KubeObject & { spec: { ingress: Values[]; egress: Values[] } }>(objs, 'NetworkPolicy');
    assert.deepEqual(np.spec.ingress[1]?.from, [{ namespaceSelector: {}, podSelector: {} }]);
    assert.deepEqual(np.spec.egress[0], {
      ports: [
        { port: 443, protocol: 'TCP' },
        { port: 6443, protocol: 'TCP' },
      ],
    });
  });

  test('custom images: every image by digest from the private registry, with its pull secret and policy', async () => {
    const objs = await render(ci('custom-images'));
    const c = operatorContainer(objs);
    const refs = [
      c.image,
      ...(c.args ?? []).filter((a) => /^--[a-z]+-image(-[a-z]+)?=/.test(a)).map((a) => a.split('=')[1]),
    ];
    assert.equal(refs.length, 4);
    for (const ref of refs)
      assert.match(ref ?? '', /^registry\.example\.com:5000\/platform\/[a-z-]+@sha256:[0-9a-f]{64}$/);
    assert.equal(c.imagePullPolicy, 'Always');
    assert.deepEqual(find<Deployment>(objs, 'Deployment').spec.template.spec.imagePullSecrets, [
      { name: 'registry-credentials' },
    ]);
    const pods = find<WebhookConfiguration>(objs, 'MutatingWebhookConfiguration').webhooks[0];
    assert.equal(pods?.failurePolicy, 'Fail');
    assert.ok(pods?.namespaceSelector.matchExpressions[0]?.values.includes('monitoring'));
    assert.ok((c.args ?? []).includes('--max-concurrent-reconciles=4'));
  });
});

describe('the rendered objects on a real kube-apiserver', () => {
  let cp: ControlPlane;

  before(async () => {
    cp = await startControlPlane();
    // Dry-runs need the kinds to exist: the chart's CRDs (as on an upgrade: the default policy needs its kind
    // served) and stand-ins for the optional cert-manager and prometheus-operator ones.
    const crdFiles = [
      ...yamlNames(chartCrdsDir).map((n) => join(chartCrdsDir, n)),
      join(fixturesDir, 'third-party-crds.yaml'),
    ];
    for (const file of crdFiles) {
      for (const crd of await kubeApply(cp, file)) await waitEstablished(cp, crd.metadata.name);
    }
    // The observability scenario puts the dashboard into Grafana's namespace.
    await kubeApply(cp, [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'monitoring' } },
    ]);
  });
  after(async () => {
    await cp?.stop();
  });

  test('every ci scenario renders objects the apiserver accepts (server-side dry-run, strict fields)', async () => {
    for (const file of ciValuesFiles()) {
      const objs = await render(file);
      assert.ok(objs.length >= 10, `${basename(file)} rendered ${objs.length} objects`);
      for (const obj of objs) {
        const query = 'dryRun=All&fieldValidation=Strict&fieldManager=chart-test';
        // The CRDs exist already (the policy needs its kind): they are dry-run as an apply over them.
        const res =
          obj.kind === 'CustomResourceDefinition'
            ? await kubeRequest(
                cp,
                'PATCH',
                `${await pathOf(cp, obj)}?${query}&force=true`,
                JSON.stringify(obj),
                'application/apply-patch+yaml',
              )
            : await kubeRequest(cp, 'POST', `${await pathOf(cp, obj, false)}?${query}`, JSON.stringify(obj));
        const ok = obj.kind === 'CustomResourceDefinition' ? 200 : 201;
        assert.equal(res.status, ok, `${basename(file)}: ${obj.kind}/${obj.metadata.name}: ${res.body}`);
      }
      // Nothing was created.
      const dep = await getJson(cp, `/apis/apps/v1/namespaces/${NS}/deployments/${RELEASE}-operator`);
      assert.equal(dep.status, 404);
    }
  });
});

describe('the chart on a real control plane', () => {
  let cp: ControlPlane;
  let kwok: Kwok;
  let kubeconfig: string;

  before(async () => {
    cp = await startControlPlane({ scheduler: true, controllerManager: true });
    kubeconfig = cp.kubeconfigPath;
    kwok = await startKwok(cp);
    await kwok.addNode('kwok-node-0');
    await kwok.addNode('kwok-node-1');
    // The release namespace enforces the restricted Pod Security Standard: the operator's pods must meet it.
    await kubeApply(cp, [
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: {
          name: NS,
          labels: {
            'pod-security.kubernetes.io/enforce': 'restricted',
            'pod-security.kubernetes.io/enforce-version': 'latest',
          },
        } as { name: string },
      },
    ]);
  });
  after(async () => {
    await kwok?.stop();
    await cp?.stop();
  });

  test('on a cluster without the CRDs, refused installs (the default policy with them, bad values) create nothing', async () => {
    await assert.rejects(
      helm(['install', RELEASE, chartDir, '--namespace', NS, '--set', 'defaultPolicy.enabled=true'], {
        kubeconfig,
      }),
      (err: Error) => {
        assert.match(
          err.message,
          /defaultPolicy\.enabled: this cluster does not serve LLMObservabilityPolicy yet/,
        );
        assert.match(err.message, /helm upgrade --reuse-values --set defaultPolicy\.enabled=true/);
        return true;
      },
    );
    // Values are checked before anything is applied; helm's crds/ folder used to be installed even so.
    await assert.rejects(
      helm(
        ['install', RELEASE, chartDir, '--namespace', NS, '--values', join(fixturesDir, 'bad-values.yaml')],
        {
          kubeconfig,
        },
      ),
      /values don't meet the specifications of the schema/,
    );
    const { stdout } = await helm(['list', '--all', '--namespace', NS, '--output', 'json'], { kubeconfig });
    assert.deepEqual(JSON.parse(stdout), []);
    for (const name of CRD_NAMES) assert.equal((await getJson(cp, crdPath(name))).status, 404, name);
  });

  test('helm install creates the CRDs, the operator running on kwok nodes, its Services, RBAC and webhooks', async () => {
    for (const name of CRD_NAMES) {
      const res = await getJson(cp, crdPath(name));
      assert.equal(res.status, 404, 'the CRDs come from the chart');
    }
    const { stdout } = await helm(
      ['install', RELEASE, chartDir, '--namespace', NS, '--wait', '--timeout', '180s'],
      {
        kubeconfig,
      },
    );
    assert.match(stdout, /STATUS: deployed/);
    assert.match(stdout, new RegExp(`kubectl -n ${NS} rollout status deployment/${RELEASE}-operator`));

    for (const name of CRD_NAMES) {
      await waitEstablished(cp, name);
      // Release objects (helm upgrades them), kept on uninstall.
      const crd = await get<CrdDoc>(cp, crdPath(name));
      assert.equal(crd.metadata.annotations?.['helm.sh/resource-policy'], 'keep', name);
      assert.equal(crd.metadata.annotations?.['meta.helm.sh/release-name'], RELEASE, name);
      assert.equal(crd.metadata.labels?.['app.kubernetes.io/managed-by'], 'Helm', name);
    }
    assert.equal(
      (await manifestKinds(kubeconfig)).filter((k) => k === 'CustomResourceDefinition').length,
      CRD_NAMES.length,
    );
    assert.match(stdout, /CRDs: part of this release, so `helm upgrade` upgrades them\. They are kept/);

    const dep = await get<Deployment>(cp, `/apis/apps/v1/namespaces/${NS}/deployments/${RELEASE}-operator`);
    assert.equal(dep.status?.availableReplicas, 2);
    const pods = await operatorPods(cp);
    assert.equal(pods.length, 2);
    for (const p of pods) {
      assert.equal(p.status.phase, 'Running', `${p.metadata.name} is ${p.status.phase}`);
      assert.match(p.spec.nodeName ?? '', /^kwok-node-/);
    }
    // They were admitted where restricted PSS is enforced: a pod that does not meet it is refused there.
    const privileged = await kubeRequest(
      cp,
      'POST',
      `/api/v1/namespaces/${NS}/pods?dryRun=All`,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'not-restricted' },
        spec: { containers: [{ name: 'c', image: 'registry.invalid/c:1' }] },
      }),
    );
    assert.equal(privileged.status, 403, privileged.body);
    assert.match(
      (JSON.parse(privileged.body) as { message: string }).message,
      /violates PodSecurity "restricted:latest"/,
    );

    // The webhook Service reaches both replicas on the webhook port (EndpointSlices of Running pods).
    const slices = await waitFor('webhook endpoints', async () => {
      const sel = encodeURIComponent(`kubernetes.io/service-name=${RELEASE}-webhook`);
      const list = await get<{ items: { endpoints?: unknown[]; ports?: { port: number }[] }[] }>(
        cp,
        `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices?labelSelector=${sel}`,
      );
      const n = list.items.reduce((s, i) => s + (i.endpoints?.length ?? 0), 0);
      return n === 2 ? list.items : undefined;
    });
    assert.deepEqual(
      slices[0]?.ports?.map((p) => p.port),
      [9443],
    );
    await get(cp, `/api/v1/namespaces/${NS}/services/${RELEASE}-metrics`);
    await get(cp, `/api/v1/namespaces/${NS}/serviceaccounts/${RELEASE}-operator`);
    await get(cp, `/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets/${RELEASE}-operator`);
    const role = await get<{ rules: PolicyRule[] }>(
      cp,
      `/apis/rbac.authorization.k8s.io/v1/clusterroles/${RELEASE}-operator`,
    );
    assert.deepEqual(role.rules, EXPECTED_CLUSTER_RULES);

    for (const kind of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']) {
      const cfg = await get<WebhookConfiguration>(
        cp,
        `/apis/admissionregistration.k8s.io/v1/${kind}/${RELEASE}`,
      );
      assert.equal(cfg.webhooks.length, 1);
      assert.equal(
        cfg.webhooks[0]?.clientConfig.caBundle,
        undefined,
        'the operator, not the chart, writes caBundle',
      );
    }
  });

  test('the operator ServiceAccount may do what the RBAC table says and nothing more', async () => {
    const allowed: Parameters<typeof operatorMay>[1][] = [
      { verb: 'watch', group: 'llmobs.dev', resource: 'llmobservabilities' },
      { verb: 'list', group: 'llmobs.dev', resource: 'llmobservabilitypolicies' },
      {
        verb: 'patch',
        group: 'llmobs.dev',
        resource: 'llmobservabilities',
        subresource: 'status',
        namespace: 'team-a',
      },
      { verb: 'patch', group: 'apps', resource: 'deployments', namespace: 'team-a' },
      { verb: 'delete', resource: 'services', namespace: 'team-a' },
      { verb: 'create', resource: 'configmaps', namespace: 'team-a' },
      { verb: 'watch', resource: 'pods' },
      { verb: 'list', resource: 'namespaces' },
      { verb: 'create', resource: 'events', namespace: 'team-a' },
      { verb: 'create', resource: 'secrets', namespace: 'team-a' },
      {
        verb: 'get',
        group: 'admissionregistration.k8s.io',
        resource: 'mutatingwebhookconfigurations',
        name: RELEASE,
      },
      {
        verb: 'patch',
        group: 'admissionregistration.k8s.io',
        resource: 'mutatingwebhookconfigurations',
        name: RELEASE,
      },
      {
        verb: 'patch',
        group: 'admissionregistration.k8s.io',
        resource: 'validatingwebhookconfigurations',
        name: RELEASE,
      },
      { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: NS },
      {
        verb: 'update',
        group: 'coordination.k8s.io',
        resource: 'leases',
        namespace: NS,
        name: `${RELEASE}-operator-leader`,
      },
      { verb: 'create', resource: 'secrets', namespace: NS },
      { verb: 'watch', resource: 'secrets', namespace: NS, name: `${RELEASE}-webhook-tls` },
      { verb: 'patch', resource: 'secrets', namespace: NS, name: `${RELEASE}-webhook-tls` },
    ];
    const denied: Parameters<typeof operatorMay>[1][] = [
      { verb: 'update', group: 'llmobs.dev', resource: 'llmobservabilities', namespace: 'team-a' },
      { verb: 'delete', group: 'llmobs.dev', resource: 'llmobservabilities', namespace: 'team-a' },
      { verb: 'create', resource: 'pods', namespace: 'team-a' },
      { verb: 'delete', resource: 'pods', namespace: 'team-a' },
      { verb: 'list', resource: 'secrets' },
      { verb: 'get', resource: 'secrets', namespace: 'team-a', name: 'llmobs-processor-chat-hmac' },
      { verb: 'update', group: 'llmobs.dev', resource: 'llmobservabilitypolicies', subresource: 'status' },
      { verb: 'watch', group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations' },
      {
        verb: 'update',
        group: 'admissionregistration.k8s.io',
        resource: 'validatingwebhookconfigurations',
        name: RELEASE,
      },
      { verb: 'list', resource: 'configmaps', namespace: 'team-a' },
      { verb: 'list', resource: 'secrets', namespace: NS },
      { verb: 'get', resource: 'secrets', namespace: NS, name: 'someone-elses' },
      { verb: 'get', resource: 'secrets', namespace: 'team-a', name: `${RELEASE}-webhook-tls` },
      {
        verb: 'patch',
        group: 'admissionregistration.k8s.io',
        resource: 'mutatingwebhookconfigurations',
        name: 'other',
      },
      {
        verb: 'delete',
        group: 'admissionregistration.k8s.io',
        resource: 'validatingwebhookconfigurations',
        name: RELEASE,
      },
      {
        verb: 'update',
        group: 'coordination.k8s.io',
        resource: 'leases',
        namespace: NS,
        name: 'kube-scheduler',
      },
      { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: 'team-a' },
      { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
      { verb: 'update', resource: 'namespaces', name: 'team-a' },
    ];
    for (const a of allowed)
      assert.equal(await operatorMay(cp, a), true, `should be allowed: ${JSON.stringify(a)}`);
    for (const d of denied)
      assert.equal(await operatorMay(cp, d), false, `should be denied: ${JSON.stringify(d)}`);
  });

  test('with the operator not answering, pods are admitted (Ignore) and LLMObservability writes refused (Fail) outside excluded namespaces', async () => {
    // Restricted-PSS compliant, so it is admitted in the release namespace too.
    const pod = (name: string, annotations: Record<string, string> = {}) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, annotations },
        spec: {
          securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'app',
              image: 'registry.invalid/chat:1',
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
            },
          ],
        },
      });
    const podWebhook = { name: 'inject.pods.llmobs.dev' };
    const failOpen = () => apiserverCounter(cp, 'apiserver_admission_webhook_fail_open_count', podWebhook);
    const skipped = () =>
      apiserverCounter(cp, 'apiserver_admission_match_condition_exclusions_total', podWebhook);
    const [failOpen0, skipped0] = [await failOpen(), await skipped()];

    const created = await kubeRequest(cp, 'POST', '/api/v1/namespaces/default/pods', pod('chat'));
    assert.equal(created.status, 201, created.body);
    assert.equal(
      await failOpen(),
      failOpen0 + 1,
      'the pod webhook was called, failed, and the pod was let through',
    );
    assert.equal(await skipped(), skipped0);

    // An opted-out pod is filtered by the matchConditions CEL before any call (trimmed, case-insensitive).
    const optedOut = await kubeRequest(
      cp,
      'POST',
      '/api/v1/namespaces/default/pods',
      pod('opted-out', { 'llmobs.dev/inject': 'False ' }),
    );
    assert.equal(optedOut.status, 201, optedOut.body);
    assert.equal(await skipped(), skipped0 + 1, 'the match condition excluded the opted-out pod');
    assert.equal(await failOpen(), failOpen0 + 1, 'the webhook was not called for the opted-out pod');
    const already = await kubeRequest(
      cp,
      'POST',
      '/api/v1/namespaces/default/pods',
      pod('already', { 'llmobs.dev/injection-status': 'injected' }),
    );
    assert.equal(already.status, 201, already.body);
    assert.equal(await skipped(), skipped0 + 2, 'a pod with an injection outcome is never sent again');
    assert.equal(await failOpen(), failOpen0 + 1);

    // Pods of the release namespace never reach the webhook (namespaceSelector).
    const own = await kubeRequest(cp, 'POST', `/api/v1/namespaces/${NS}/pods?dryRun=All`, pod('own'));
    assert.equal(own.status, 201, own.body);
    assert.equal(await failOpen(), failOpen0 + 1);

    const cr = (namespace: string) =>
      JSON.stringify({
        apiVersion: 'llmobs.dev/v1alpha1',
        kind: 'LLMObservability',
        metadata: { name: 'chat', namespace },
        spec: { exporters: [{ name: 'tempo', endpoint: 'http://tempo:4318' }] },
      });
    const refused = await kubeRequest(
      cp,
      'POST',
      '/apis/llmobs.dev/v1alpha1/namespaces/default/llmobservabilities',
      cr('default'),
    );
    assert.ok(refused.status >= 400, `expected a refusal, got ${refused.status}`);
    assert.match(refused.body, /validate\.llmobservabilities\.llmobs\.dev/);
    // The release namespace is excluded by the namespaceSelector, so the webhook is not called there.
    const accepted = await kubeRequest(
      cp,
      'POST',
      `/apis/llmobs.dev/v1alpha1/namespaces/${NS}/llmobservabilities`,
      cr(NS),
    );
    assert.equal(accepted.status, 201, accepted.body);
  });

  test('helm upgrade with a changed value rolls the Deployment and keeps the caBundle the operator wrote', async () => {
    // As the operator would: patch the CA into both configurations under its own field manager.
    const caBundle = Buffer.from(cp.caPem).toString('base64');
    for (const kind of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']) {
      const res = await kubeRequest(
        cp,
        'PATCH',
        `/apis/admissionregistration.k8s.io/v1/${kind}/${RELEASE}?fieldManager=llmobs-operator`,
        JSON.stringify([{ op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: caBundle }]),
        'application/json-patch+json',
      );
      assert.equal(res.status, 200, res.body);
    }
    const before = await get<Deployment>(
      cp,
      `/apis/apps/v1/namespaces/${NS}/deployments/${RELEASE}-operator`,
    );
    const oldPods = new Set((await operatorPods(cp)).map((p) => p.metadata.name));

    await helm(
      [
        'upgrade',
        RELEASE,
        chartDir,
        '--namespace',
        NS,
        '--reuse-values',
        '--set',
        'operator.logLevel=debug',
        '--wait',
        '--timeout',
        '180s',
      ],
      { kubeconfig },
    );

    const dep = await get<Deployment>(cp, `/apis/apps/v1/namespaces/${NS}/deployments/${RELEASE}-operator`);
    assert.ok((dep.metadata.generation ?? 0) > (before.metadata.generation ?? 0), 'the pod template changed');
    assert.ok(dep.spec.template.spec.containers[0]?.args?.includes('--log-level=debug'));
    const rolled = await waitFor('the rollout to replace both pods', async () => {
      const pods = (await operatorPods(cp)).filter((p) => !p.metadata.deletionTimestamp);
      const done =
        pods.length === 2 &&
        pods.every(
          (p) =>
            !oldPods.has(p.metadata.name) &&
            p.status.phase === 'Running' &&
            p.spec.containers[0]?.args?.includes('--log-level=debug'),
        );
      return done ? pods : undefined;
    });
    assert.equal(rolled.length, 2);
    const after = await get<Deployment>(cp, `/apis/apps/v1/namespaces/${NS}/deployments/${RELEASE}-operator`);
    assert.equal(after.status?.observedGeneration, after.metadata.generation);
    assert.equal(after.status?.updatedReplicas, 2);

    for (const kind of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']) {
      const cfg = await get<WebhookConfiguration>(
        cp,
        `/apis/admissionregistration.k8s.io/v1/${kind}/${RELEASE}`,
      );
      assert.equal(cfg.webhooks[0]?.clientConfig.caBundle, caBundle, `${kind} lost its caBundle on upgrade`);
    }
  });

  test('helm upgrade upgrades the CRDs: a chart whose CRD gains an optional field and a printer column changes the live one, and the released chart changes it back', async () => {
    const name = 'llmobservabilities.llmobs.dev';
    const before = await get<CrdDoc & { metadata: { uid: string } }>(cp, crdPath(name));
    // The next chart version, as a copy whose CRD has one more optional field and printer column.
    const newer = mkdtempSync(join(tmpdir(), 'llmobs-chart-'));
    try {
      cpSync(chartDir, newer, { recursive: true });
      const file = join(newer, 'files', 'crds', `llmobs.dev_${name.split('.')[0]}.yaml`);
      const crd = yaml.load(readFileSync(file, 'utf8')) as CrdDoc;
      const version = crd.spec.versions[0];
      assert.ok(version);
      version.schema.openAPIV3Schema.properties.spec.properties.owner = {
        type: 'string',
        description: 'The team that owns this resource.',
      };
      version.additionalPrinterColumns.push({ name: 'Owner', type: 'string', jsonPath: '.spec.owner' });
      writeFileSync(file, yaml.dump(crd));

      await helm(
        ['upgrade', RELEASE, newer, '--namespace', NS, '--reuse-values', '--wait', '--timeout', '120s'],
        {
          kubeconfig,
        },
      );
    } finally {
      rmSync(newer, { recursive: true, force: true });
    }
    const upgraded = await get<CrdDoc & { metadata: { uid: string } }>(cp, crdPath(name));
    assert.equal(upgraded.metadata.uid, before.metadata.uid, 'patched in place, not replaced');
    assert.deepEqual(upgraded.spec.versions[0]?.schema.openAPIV3Schema.properties.spec.properties.owner, {
      type: 'string',
      description: 'The team that owns this resource.',
    });
    assert.ok(upgraded.spec.versions[0]?.additionalPrinterColumns.some((c) => c.name === 'Owner'));
    assert.equal(upgraded.metadata.annotations?.['helm.sh/resource-policy'], 'keep');

    // The apiserver serves the new schema: a resource using the field is stored with it (strict fields).
    const owned = JSON.stringify({
      apiVersion: 'llmobs.dev/v1alpha1',
      kind: 'LLMObservability',
      metadata: { name: 'owned', namespace: NS },
      spec: { owner: 'team-a', exporters: [{ name: 'tempo', endpoint: 'http://tempo:4318' }] },
    });
    const created = await waitFor('the new field to be served', async () => {
      const res = await kubeRequest(
        cp,
        'POST',
        `/apis/llmobs.dev/v1alpha1/namespaces/${NS}/llmobservabilities?fieldValidation=Strict`,
        owned,
      );
      return res.status === 201 ? (JSON.parse(res.body) as { spec: Values }) : undefined;
    });
    assert.equal(created.spec.owner, 'team-a');
    await get(cp, `/apis/llmobs.dev/v1alpha1/namespaces/${NS}/llmobservabilities/chat`);

    // Back to the chart as released: helm's three-way merge removes what the newer chart added.
    await helm(
      ['upgrade', RELEASE, chartDir, '--namespace', NS, '--reuse-values', '--wait', '--timeout', '120s'],
      {
        kubeconfig,
      },
    );
    const reverted = await get<CrdDoc>(cp, crdPath(name));
    const source = readYaml(join(repoCrdsDir, `llmobs.dev_${name.split('.')[0]}.yaml`)) as CrdDoc;
    assert.deepEqual(reverted.spec.versions, source.spec.versions);
  });

  test('an upgrade with crds.install=false leaves the CRDs in place (keep), and crds.install=true takes them back', async () => {
    const uids = async () =>
      Promise.all(
        CRD_NAMES.map(async (n) => (await get<{ metadata: { uid: string } }>(cp, crdPath(n))).metadata.uid),
      );
    const before = await uids();
    await helm(
      ['upgrade', RELEASE, chartDir, '--namespace', NS, '--reuse-values', '--set', 'crds.install=false'],
      {
        kubeconfig,
      },
    );
    assert.ok(
      !(await manifestKinds(kubeconfig)).includes('CustomResourceDefinition'),
      'helm no longer owns them',
    );
    assert.deepEqual(await uids(), before, 'and did not delete them');
    await get(cp, `/apis/llmobs.dev/v1alpha1/namespaces/${NS}/llmobservabilities/chat`);

    await helm(
      ['upgrade', RELEASE, chartDir, '--namespace', NS, '--reuse-values', '--set', 'crds.install=true'],
      {
        kubeconfig,
      },
    );
    assert.equal(
      (await manifestKinds(kubeconfig)).filter((k) => k === 'CustomResourceDefinition').length,
      CRD_NAMES.length,
    );
    assert.deepEqual(await uids(), before);
  });

  test('helm uninstall removes every chart object but the CRDs (helm.sh/resource-policy: keep), which keep their resources', async () => {
    await helm(['uninstall', RELEASE, '--namespace', NS, '--wait', '--timeout', '120s'], { kubeconfig });
    const gone = [
      `/apis/apps/v1/namespaces/${NS}/deployments/${RELEASE}-operator`,
      `/api/v1/namespaces/${NS}/services/${RELEASE}-webhook`,
      `/api/v1/namespaces/${NS}/services/${RELEASE}-metrics`,
      `/api/v1/namespaces/${NS}/serviceaccounts/${RELEASE}-operator`,
      `/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets/${RELEASE}-operator`,
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles/${RELEASE}-operator`,
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings/${RELEASE}-operator`,
      `/apis/rbac.authorization.k8s.io/v1/clusterroles/${RELEASE}-operator`,
      `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${RELEASE}-operator`,
      `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${RELEASE}`,
      `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${RELEASE}`,
    ];
    for (const path of gone) assert.equal((await getJson(cp, path)).status, 404, `${path} is still there`);
    await waitFor('the operator pods to go', async () =>
      (await operatorPods(cp)).length === 0 ? true : undefined,
    );

    for (const name of CRD_NAMES) {
      const crd = await get<CrdDoc>(cp, crdPath(name));
      assert.equal(crd.metadata.annotations?.['helm.sh/resource-policy'], 'keep', name);
    }
    // The LLMObservability that existed before the uninstall is still served, as it was.
    const chat = await get<{ spec: { exporters: { endpoint: string }[] } }>(
      cp,
      `/apis/llmobs.dev/v1alpha1/namespaces/${NS}/llmobservabilities/chat`,
    );
    assert.equal(chat.spec.exporters[0]?.endpoint, 'http://tempo:4318');
  });

  test('a values file failing the schema makes helm install fail naming the fields, and creates no release', async () => {
    await assert.rejects(
      helm(
        ['install', 'bad', chartDir, '--namespace', NS, '--values', join(fixturesDir, 'bad-values.yaml')],
        {
          kubeconfig,
        },
      ),
      (err: Error) => {
        assert.match(err.message, /values don't meet the specifications of the schema/);
        assert.match(err.message, /at '\/operator\/replicas': got string, want integer/);
        assert.match(err.message, /additional properties 'replicaCount' not allowed/);
        return true;
      },
    );
    await assert.rejects(
      helm(['install', 'bad', chartDir, '--namespace', NS, '--set', 'webhook.pods.failurePolicy=Retry'], {
        kubeconfig,
      }),
      /at '\/webhook\/pods\/failurePolicy'/,
    );
    const { stdout } = await helm(['list', '--all', '--namespace', NS, '--output', 'json'], { kubeconfig });
    assert.deepEqual(JSON.parse(stdout), []);
    // No template object was applied (on a fresh cluster no CRD either: the first test).
    const deployments = await get<{ items: unknown[] }>(cp, `/apis/apps/v1/namespaces/${NS}/deployments`);
    assert.deepEqual(deployments.items, []);
  });
});

describe('webhook TLS from the user’s own Secret (webhook.tls.mode: secret), with the real operator', () => {
  const SECRET = 'corp-webhook-tls';
  const SERVICE_HOST = `${RELEASE}-webhook.${NS}.svc`;
  let cp: ControlPlane;
  let kubeconfig: string;
  let operator: ManagedProcess | undefined;
  let work: string;
  let ca: CertificateAuthority;
  let served: CertKeyPair;
  let webhookPort: number;
  let certDir: string;

  /** What the kubelet does with a Secret volume: the Secret's keys as files of one folder. */
  const mountSecret = async () => {
    const secret = await get<{ data: Record<string, string> }>(
      cp,
      `/api/v1/namespaces/${NS}/secrets/${SECRET}`,
    );
    for (const [key, value] of Object.entries(secret.data))
      writeFileSync(join(certDir, key), Buffer.from(value, 'base64'));
  };
  const putSecret = async (pair: CertKeyPair) =>
    kubeApply(cp, [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: SECRET, namespace: NS },
        type: 'kubernetes.io/tls',
        data: {
          'tls.crt': Buffer.from(pair.certPem).toString('base64'),
          'tls.key': Buffer.from(pair.keyPem).toString('base64'),
        },
      },
    ]);
  const issue = () =>
    issueCert(ca, {
      commonName: SERVICE_HOST,
      dnsNames: [SERVICE_HOST],
      ipAddresses: ['127.0.0.1'],
      usage: 'server',
    });
  /** Fingerprint of the certificate the operator's webhook port presents, trusting only the user's CA. */
  const servedFingerprint = () =>
    new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: webhookPort, ca: ca.certPem }, () => {
        resolve(socket.getPeerX509Certificate()?.fingerprint256 ?? '');
        socket.end();
      });
      socket.on('error', reject);
    });
  /** caBundle decoded (the chart ends the PEM with a newline). */
  const pemOf = (caBundle: string | undefined) =>
    Buffer.from(caBundle ?? '', 'base64')
      .toString('utf8')
      .trim();
  const llmobs = (name: string) =>
    JSON.stringify({
      apiVersion: 'llmobs.dev/v1alpha1',
      kind: 'LLMObservability',
      metadata: { name, namespace: 'default' },
      spec: { exporters: [{ name: 'tempo', endpoint: 'http://tempo:4318' }] },
    });

  before(async () => {
    cp = await startControlPlane();
    kubeconfig = cp.kubeconfigPath;
    work = mkdtempSync(join(tmpdir(), 'llmobs-tls-secret-'));
    certDir = join(work, 'webhook-certs');
    mkdirSync(certDir);
    ca = await createCA('corp-webhook-ca');
    served = await issue();
    await kubeApply(cp, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }]);
    await putSecret(served);
    writeFileSync(join(work, 'ca.crt'), ca.certPem);
  });
  after(async () => {
    await operator?.stop();
    await cp?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('helm install puts the user’s CA into both caBundles and mounts the Secret; the operator may not read any Secret', async () => {
    await helm(
      [
        'install',
        RELEASE,
        chartDir,
        '--namespace',
        NS,
        '--set',
        `webhook.tls.mode=secret,webhook.tls.secret.name=${SECRET}`,
        '--set-file',
        `webhook.tls.secret.caBundle=${join(work, 'ca.crt')}`,
      ],
      { kubeconfig },
    );
    for (const kind of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']) {
      const cfg = await get<WebhookConfiguration>(
        cp,
        `/apis/admissionregistration.k8s.io/v1/${kind}/${RELEASE}`,
      );
      assert.equal(pemOf(cfg.webhooks[0]?.clientConfig.caBundle), ca.certPem.trim(), kind);
    }
    const dep = await get<Deployment>(cp, `/apis/apps/v1/namespaces/${NS}/deployments/${RELEASE}-operator`);
    assert.ok(
      dep.spec.template.spec.volumes?.some(
        (v) => (v.secret as { secretName?: string })?.secretName === SECRET,
      ),
    );
    for (const verb of ['get', 'list', 'watch'])
      assert.equal(
        await operatorMay(cp, { verb, resource: 'secrets', namespace: NS, name: SECRET }),
        false,
        verb,
      );
    assert.equal(
      await operatorMay(cp, {
        verb: 'patch',
        group: 'admissionregistration.k8s.io',
        resource: 'mutatingwebhookconfigurations',
        name: RELEASE,
      }),
      false,
    );
  });

  test('the operator, run with the chart’s flags on the mounted Secret, serves it: the apiserver trusts it through the chart’s caBundle', async () => {
    const dep = await get<Deployment>(cp, `/apis/apps/v1/namespaces/${NS}/deployments/${RELEASE}-operator`);
    const container = dep.spec.template.spec.containers[0];
    assert.ok(container?.args?.includes('--webhook-cert-dir=/var/run/llmobs/webhook-certs'));
    await mountSecret();

    // As test/harness/demo/cluster.ts does: the operator runs here as the chart's ServiceAccount, with the
    // chart's flags, and the chart's webhook configurations call it by URL (their caBundle left as rendered).
    const started = await startChartOperator({
      cp,
      release: RELEASE,
      namespace: NS,
      chartArgs: container?.args ?? [],
      token: await serviceAccountToken(cp, NS, `${RELEASE}-operator`),
      dir: work,
      flags: { 'webhook-cert-dir': certDir },
    });
    operator = started.process;
    webhookPort = started.webhookPort;

    assert.equal(await servedFingerprint(), new X509Certificate(served.certPem).fingerprint256);
    // An LLMObservability outside the excluded namespaces goes through the validating webhook (Fail): the
    // apiserver reached the operator over TLS, trusting the CA from the chart's values.
    const created = await kubeRequest(
      cp,
      'POST',
      '/apis/llmobs.dev/v1alpha1/namespaces/default/llmobservabilities',
      llmobs('through-the-webhook'),
    );
    assert.equal(created.status, 201, `${created.body}\n${started.process.tail()}`);

    // The operator wrote nothing of its own: no Secret, and the chart's caBundle untouched by any manager of it.
    assert.equal((await getJson(cp, `/api/v1/namespaces/${NS}/secrets/${RELEASE}-webhook-tls`)).status, 404);
    for (const kind of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']) {
      const cfg = await get<WebhookConfiguration & { metadata: { managedFields?: { manager: string }[] } }>(
        cp,
        `/apis/admissionregistration.k8s.io/v1/${kind}/${RELEASE}`,
      );
      assert.equal(pemOf(cfg.webhooks[0]?.clientConfig.caBundle), ca.certPem.trim());
      assert.ok(
        !cfg.metadata.managedFields?.some((f) => f.manager.startsWith('llmobs-operator')),
        `${kind} managers: ${cfg.metadata.managedFields?.map((f) => f.manager).join(', ')}`,
      );
    }
  });

  test('a renewed Secret is served without a restart, and the apiserver keeps trusting it', async () => {
    assert.ok(operator?.running, 'the operator of the previous test');
    const pid = operator.pid;
    const renewed = await issue();
    await putSecret(renewed);
    await mountSecret();
    const fingerprint = new X509Certificate(renewed.certPem).fingerprint256;
    await waitFor('the renewed certificate to be served', async () =>
      (await servedFingerprint()) === fingerprint ? true : undefined,
    );
    assert.equal(operator.pid, pid);
    const created = await kubeRequest(
      cp,
      'POST',
      '/apis/llmobs.dev/v1alpha1/namespaces/default/llmobservabilities',
      llmobs('after-renewal'),
    );
    assert.equal(created.status, 201, created.body);
  });
});
