import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as yaml from 'js-yaml';
import { chartDir, ciValuesFiles } from '../chart/chart.ts';
import { serviceAccountToken, startChartOperator } from '../harness/chart-operator.ts';
import { type ControlPlane, startControlPlane } from '../harness/control-plane.ts';
import { eventually } from '../harness/eventually.ts';
import { helm } from '../harness/helm.ts';
import { kubeApply, kubeRequest, kubeRequestWithToken, type RawResponse } from '../harness/kube-apply.ts';
import type { ManagedProcess } from '../harness/process.ts';

const RELEASE = 'llmobs';
const NS = 'llmobs-system';
const APP = 'team-a';
const SA = `${RELEASE}-operator`;
const GATEWAY = 'llmobs-processor-chat';

interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason: string;
  readonly message: string;
}

/** One request authenticated by the operator ServiceAccount's bound token (no client certificate). */
function asOperator(cp: ControlPlane, token: string, method: string, path: string, body?: unknown) {
  return kubeRequestWithToken(cp, token, method, path, {
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    contentType: method === 'PATCH' ? 'application/merge-patch+json' : 'application/json',
  });
}

async function admin(cp: ControlPlane, method: string, path: string, body?: unknown): Promise<RawResponse> {
  return kubeRequest(cp, method, path, body === undefined ? undefined : JSON.stringify(body));
}

async function must(res: Promise<RawResponse>, what: string): Promise<unknown> {
  const r = await res;
  assert.ok(r.status < 300, `${what}: ${r.status} ${r.body}`);
  return JSON.parse(r.body) as unknown;
}

/**
 * The chart's RBAC, installed by helm on a real apiserver with RBAC authorization, and the real operator
 * running with the chart's flags as the chart's ServiceAccount (as test/harness/demo does): everything it
 * does must succeed, and what it has no business doing must be refused with 403.
 */
describe('the operator runs on the chart’s RBAC and can do nothing more', () => {
  let cp: ControlPlane;
  let work: string;
  let token: string;
  let operator: ManagedProcess | undefined;

  before(async () => {
    cp = await startControlPlane();
    work = mkdtempSync(join(tmpdir(), 'llmobs-rbac-'));
    await helm(['install', RELEASE, chartDir, '--namespace', NS, '--create-namespace', '--wait=false'], {
      kubeconfig: cp.kubeconfigPath,
    });
    token = await serviceAccountToken(cp, NS, SA);

    // An application namespace with the Secret its exporter header comes from, and a workload to restart.
    await kubeApply(cp, [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: APP } },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'backend-key', namespace: APP },
        stringData: { 'api-key': 'team-a-backend-key-0123456789' },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'rag', namespace: APP },
        spec: {
          serviceName: 'rag',
          selector: { matchLabels: { app: 'rag' } },
          template: {
            metadata: { labels: { app: 'rag' } },
            spec: { containers: [{ name: 'app', image: 'registry.invalid/rag:1' }] },
          },
        },
      },
    ]);

    // The operator, here, with the chart's flags; the chart's webhook configurations call it by URL.
    const dep = (await must(
      admin(cp, 'GET', `/apis/apps/v1/namespaces/${NS}/deployments/${RELEASE}-operator`),
      'operator Deployment',
    )) as { spec: { template: { spec: { containers: { args: string[] }[] } } } };
    const chartArgs = dep.spec.template.spec.containers[0]?.args ?? [];
    ({ process: operator } = await startChartOperator({
      cp,
      release: RELEASE,
      namespace: NS,
      chartArgs,
      token,
      dir: work,
      flags: { 'log-level': 'debug' },
      what: 'operator /readyz (informers synced as the ServiceAccount)',
    }));
  });

  after(async () => {
    await operator?.stop();
    await cp?.stop();
    if (work && !process.env.LLMOBS_KEEP_TMP) rmSync(work, { recursive: true, force: true });
  });

  test('leads, issues its webhook certificate and publishes its CA, all as the ServiceAccount', async () => {
    const path = `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${RELEASE}-operator-leader`;
    const holder = await eventually('the leader Lease', async () => {
      const r = await admin(cp, 'GET', path);
      return r.status === 200
        ? ((JSON.parse(r.body) as { spec: { holderIdentity?: string } }).spec.holderIdentity ?? '')
        : undefined;
    });
    assert.match(holder, new RegExp(`${RELEASE}-operator-local`));
    await must(admin(cp, 'GET', `/api/v1/namespaces/${NS}/secrets/${RELEASE}-webhook-tls`), 'webhook Secret');
    for (const kind of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']) {
      const cfg = await eventually(`${kind} caBundle`, async () => {
        const c = (await must(
          admin(cp, 'GET', `/apis/admissionregistration.k8s.io/v1/${kind}/${RELEASE}`),
          kind,
        )) as { webhooks: { clientConfig: { caBundle?: string } }[] };
        return c.webhooks.every((w) => w.clientConfig.caBundle) ? c : undefined;
      });
      assert.ok(cfg.webhooks.length > 0);
    }
  });

  test('reconciles a gateway with hashed redaction and a Secret header, then moves it to sidecar mode', async () => {
    const cr = {
      apiVersion: 'llmobs.dev/v1alpha1',
      kind: 'LLMObservability',
      metadata: { name: 'chat', namespace: APP },
      spec: {
        processor: { mode: 'gateway' },
        redaction: { action: 'hash' },
        exporters: [
          {
            name: 'backend',
            endpoint: 'https://otlp.example.com',
            headers: [{ name: 'api-key', secretKeyRef: { name: 'backend-key', key: 'api-key' } }],
          },
        ],
      },
    };
    // Through the operator's validating webhook (failurePolicy Fail): the apiserver called it.
    await must(admin(cp, 'POST', `/apis/llmobs.dev/v1alpha1/namespaces/${APP}/llmobservabilities`, cr), 'CR');
    const base = `/api/v1/namespaces/${APP}`;
    await eventually(
      'the gateway objects and the HMAC key Secret',
      async () => {
        for (const p of [
          `${base}/configmaps/${GATEWAY}`,
          `${base}/services/${GATEWAY}`,
          `/apis/apps/v1/namespaces/${APP}/deployments/${GATEWAY}`,
          `${base}/secrets/${GATEWAY}-hmac`,
        ])
          if ((await admin(cp, 'GET', p)).status !== 200) return undefined;
        return true;
      },
      30_000,
    );
    const status = async () =>
      (
        (await must(
          admin(cp, 'GET', `/apis/llmobs.dev/v1alpha1/namespaces/${APP}/llmobservabilities/chat`),
          'CR',
        )) as { status?: { conditions?: Condition[] } }
      ).status?.conditions ?? [];
    const conditions = await eventually('status conditions', async () => {
      const c = await status();
      return c.some((x) => x.type === 'ProcessorReady') ? c : undefined;
    });
    assert.ok(
      !conditions.some((c) => c.reason === 'ApplyFailed'),
      `${JSON.stringify(conditions)}\n${operator?.tail(40)}`,
    );

    // The key Secret stays the operator's to create, never to read back; the header Secret is not copied.
    const cm = (await must(admin(cp, 'GET', `${base}/configmaps/${GATEWAY}`), 'ConfigMap')) as {
      data: Record<string, string>;
    };
    assert.ok(!JSON.stringify(cm.data).includes('team-a-backend-key-0123456789'));
    const secrets = (await must(admin(cp, 'GET', `${base}/secrets`), 'secrets')) as {
      items: { metadata: { name: string } }[];
    };
    assert.deepEqual(secrets.items.map((s) => s.metadata.name).sort(), ['backend-key', `${GATEWAY}-hmac`]);

    await must(
      kubeRequest(
        cp,
        'PATCH',
        `/apis/llmobs.dev/v1alpha1/namespaces/${APP}/llmobservabilities/chat`,
        JSON.stringify({ spec: { processor: { mode: 'sidecar' } } }),
        'application/merge-patch+json',
      ),
      'switch to sidecar',
    );
    await eventually(
      'the gateway Deployment and Service to be deleted',
      async () =>
        (await admin(cp, 'GET', `/apis/apps/v1/namespaces/${APP}/deployments/${GATEWAY}`)).status === 404 &&
        (await admin(cp, 'GET', `${base}/services/${GATEWAY}`)).status === 404
          ? true
          : undefined,
      30_000,
    );
    assert.ok(!(await status()).some((c) => c.reason === 'ApplyFailed'));
  });

  test('injects a pod (reading its namespace) and records the Event, refused nothing along the way', async () => {
    const pod = (await must(
      admin(cp, 'POST', `/api/v1/namespaces/${APP}/pods`, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'chat-0', labels: { app: 'chat' } },
        spec: { containers: [{ name: 'app', image: 'registry.invalid/chat:1' }] },
      }),
      'pod',
    )) as { metadata: { annotations?: Record<string, string> } };
    assert.equal(pod.metadata.annotations?.['llmobs.dev/injection-status'], 'injected');
    await eventually('the Injected Event', async () => {
      const events = (await must(admin(cp, 'GET', `/api/v1/namespaces/${APP}/events`), 'events')) as {
        items: { reason: string; involvedObject: { name: string } }[];
      };
      return events.items.some((e) => e.reason === 'Injected' && e.involvedObject.name === 'chat-0')
        ? true
        : undefined;
    });
    const log = readFileSync(operator?.logFile ?? '', 'utf8');
    assert.ok(!/forbidden/i.test(log), `the operator was refused something:\n${operator?.tail(20)}`);
  });

  test('restarts a workload for spec.rollout: reads and patches it, as kubectl rollout restart does', async () => {
    const path = `/apis/apps/v1/namespaces/${APP}/statefulsets/rag`;
    await must(asOperator(cp, token, 'GET', path), 'get statefulset');
    await must(
      asOperator(cp, token, 'PATCH', path, {
        spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': 'now' } } } },
      }),
      'patch statefulset',
    );
  });

  test('is refused (403) what it has no business doing', async () => {
    const refused: [string, string, unknown?][] = [
      ['GET', '/api/v1/secrets'],
      ['GET', `/api/v1/namespaces/${APP}/secrets`],
      ['GET', `/api/v1/namespaces/${APP}/secrets/backend-key`],
      // Its own creation, in an application namespace: written once, never read back.
      ['GET', `/api/v1/namespaces/${APP}/secrets/${GATEWAY}-hmac`],
      ['PUT', `/api/v1/namespaces/${APP}/secrets/${GATEWAY}-hmac`, { metadata: { name: `${GATEWAY}-hmac` } }],
      ['GET', `/api/v1/namespaces/${NS}/secrets`],
      ['GET', `/api/v1/namespaces/kube-system/secrets/anything`],
      [
        'POST',
        '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
        {
          metadata: { name: 'escalate' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
          subjects: [{ kind: 'ServiceAccount', name: SA, namespace: NS }],
        },
      ],
      ['POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', { metadata: { name: 'x' }, rules: [] }],
      ['DELETE', `/api/v1/namespaces/${APP}`],
      ['PATCH', '/api/v1/nodes/kwok-node-0', { metadata: { labels: { x: 'y' } } }],
      ['POST', `/api/v1/namespaces/${APP}/pods`, { metadata: { name: 'p' }, spec: { containers: [] } }],
      ['DELETE', `/api/v1/namespaces/${APP}/pods/anything`],
      ['POST', `/api/v1/namespaces/${NS}/serviceaccounts/${SA}/token`, { spec: {} }],
      ['PATCH', `/apis/llmobs.dev/v1alpha1/namespaces/${APP}/llmobservabilities/chat`, { spec: {} }],
      ['DELETE', `/apis/llmobs.dev/v1alpha1/namespaces/${APP}/llmobservabilities/chat`],
      [
        'PATCH',
        '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/other',
        { metadata: {} },
      ],
      ['DELETE', `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${RELEASE}`],
      ['DELETE', `/apis/apps/v1/namespaces/${APP}/statefulsets/rag`],
      ['GET', `/api/v1/namespaces/${APP}/configmaps`],
      ['PATCH', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/someone-elses`, { spec: {} }],
      ['POST', `/apis/coordination.k8s.io/v1/namespaces/${APP}/leases`, { metadata: { name: 'l' } }],
    ];
    const wrong: string[] = [];
    for (const [method, path, body] of refused) {
      const r = await asOperator(cp, token, method, path, body);
      if (r.status !== 403) wrong.push(`${method} ${path}: ${r.status} ${r.body.slice(0, 200)}`);
    }
    assert.deepEqual(wrong, []);
    // Impersonation is a verb too: the ServiceAccount cannot borrow anyone's rights.
    const r = (
      await kubeRequestWithToken(cp, token, 'GET', '/api/v1/namespaces', {
        headers: { 'impersonate-user': 'admin' },
      })
    ).status;
    assert.equal(r, 403);
  });
});

interface Rule {
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly verbs: readonly string[];
}

describe('the chart’s RBAC in every tested scenario', () => {
  test('has no wildcard, no escalation verb, and reads Secrets only by name', async () => {
    for (const values of ciValuesFiles()) {
      const { stdout } = await helm(['template', RELEASE, chartDir, '--namespace', NS, '-f', values]);
      const roles = yaml
        .loadAll(stdout)
        .filter(
          (d): d is { kind: string; rules: Rule[] } =>
            typeof d === 'object' &&
            d !== null &&
            ['ClusterRole', 'Role'].includes((d as { kind: string }).kind),
        );
      assert.ok(roles.length > 0, values);
      for (const rule of roles.flatMap((r) => r.rules)) {
        const where = `${values}: ${JSON.stringify(rule)}`;
        for (const field of [rule.apiGroups, rule.resources, rule.verbs])
          assert.ok(!field?.includes('*'), `wildcard in ${where}`);
        for (const verb of ['escalate', 'bind', 'impersonate', 'deletecollection'])
          assert.ok(!rule.verbs.includes(verb), `${verb} in ${where}`);
        assert.ok(
          !rule.resources?.some((r) => r.startsWith('roles') || r.startsWith('clusterrole')),
          `RBAC objects in ${where}`,
        );
        if (rule.resources?.includes('secrets') && !rule.resourceNames)
          assert.deepEqual(rule.verbs, ['create'], `Secrets readable by any name in ${where}`);
      }
    }
  });
});
