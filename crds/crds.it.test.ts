import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as yaml from 'js-yaml';
import { effectiveConfig, policiesFor } from '../operator/src/manifests/effective.ts';
import type { LLMObservability, LLMObservabilityPolicy } from '../operator/src/manifests/resources.ts';
import { type ControlPlane, startControlPlane } from '../test/harness/control-plane.ts';
import { type KubeObject, kubeApply, kubeRequest } from '../test/harness/kube-apply.ts';

const here = import.meta.dirname;
const examplesDir = join(here, '..', 'examples');
const BASE = '/apis/llmobs.dev/v1alpha1';

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.yaml'))
    .map((e) => join(e.parentPath, e.name));
}

function resource(name: string, spec: Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'llmobs.dev/v1alpha1',
    kind: 'LLMObservability',
    metadata: { name, namespace: 'default' },
    spec,
  };
}

/** The part of a published OpenAPI schema `kubectl explain` reads. */
interface SchemaNode {
  readonly description?: string;
  readonly properties?: Readonly<Record<string, SchemaNode>>;
}

/** Creates `obj` and returns the apiserver's refusal message (or fails if it was accepted). */
async function refusal(cp: ControlPlane, obj: KubeObject): Promise<string> {
  const res = await kubeRequest(
    cp,
    'POST',
    `${BASE}/namespaces/default/llmobservabilities`,
    JSON.stringify(obj),
  );
  assert.equal(res.status, 422, `expected a 422 refusal, got ${res.status}: ${res.body}`);
  return (JSON.parse(res.body) as { message: string }).message;
}

describe('llmobs.dev CRDs on a real kube-apiserver', () => {
  let cp: ControlPlane;

  before(async () => {
    cp = await startControlPlane();
    for (const file of yamlFiles(here)) await kubeApply(cp, file);
    // Served once Established; the first create can race the new API's registration.
    for (let i = 0; i < 100; i++) {
      const res = await kubeRequest(cp, 'GET', `${BASE}/llmobservabilities`);
      if (res.status === 200) break;
      await sleep(100);
    }
  });
  after(async () => {
    await cp?.stop();
  });

  test('every example resource is accepted as written', async () => {
    const docs = yamlFiles(examplesDir).flatMap((f) => yaml.loadAll(readFileSync(f, 'utf8')) as KubeObject[]);
    assert.ok(docs.length >= 3);
    for (const ns of new Set(docs.map((d) => d.metadata.namespace).filter((n): n is string => !!n))) {
      await kubeApply(cp, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }]);
    }
    const applied = await kubeApply(cp, docs);
    assert.equal(applied.length, docs.length);
  });

  /** Every example object as the apiserver stores it (defaults applied), by kind. */
  async function storedExamples(): Promise<{
    resources: (LLMObservability & { metadata: { name: string; namespace: string } })[];
    policies: LLMObservabilityPolicy[];
    namespaceLabels: Map<string, Record<string, string>>;
  }> {
    const docs = yamlFiles(examplesDir).flatMap((f) => yaml.loadAll(readFileSync(f, 'utf8')) as KubeObject[]);
    const stored = await kubeApply(cp, docs);
    const namespaceLabels = new Map<string, Record<string, string>>();
    for (const o of stored.filter((o) => o.kind === 'Namespace'))
      namespaceLabels.set(o.metadata.name, (o.metadata as { labels?: Record<string, string> }).labels ?? {});
    return {
      resources: stored.filter((o) => o.kind === 'LLMObservability') as unknown as (LLMObservability & {
        metadata: { name: string; namespace: string };
      })[],
      policies: stored.filter(
        (o) => o.kind === 'LLMObservabilityPolicy',
      ) as unknown as LLMObservabilityPolicy[],
      namespaceLabels,
    };
  }

  test('the examples include the backends and setups of issue #7, as the CRD stores them', async () => {
    const { resources } = await storedExamples();
    const exporters = resources.flatMap((r) =>
      (r.spec?.exporters ?? []).map((e) => ({ resource: r, exporter: e })),
    );
    // Datadog through the Agent's OTLP receiver, from a gateway: gRPC, plaintext in the cluster, every signal.
    const agent = exporters.find(
      (x) =>
        x.exporter.endpoint === 'datadog-agent.datadog:4317' &&
        x.resource.spec?.processor?.mode === 'gateway',
    );
    assert.ok(agent, 'a gateway exporting to datadog-agent.datadog:4317');
    assert.equal(agent.exporter.protocol, 'grpc');
    assert.equal(agent.exporter.insecure, true);
    assert.deepEqual(agent.exporter.signals, ['traces', 'metrics', 'logs']);
    // Datadog's OTLP traces intake: http/protobuf, traces only, the API key from a Secret, dd-otlp-source.
    const intake = exporters.find((x) => x.exporter.headers?.some((h) => h.name === 'dd-api-key'));
    assert.ok(intake, 'an exporter with a dd-api-key header');
    assert.equal(intake.exporter.protocol, 'http/protobuf');
    assert.match(intake.exporter.endpoint, /^https:\/\//);
    assert.deepEqual(intake.exporter.signals, ['traces']);
    const headers = Object.fromEntries((intake.exporter.headers ?? []).map((h) => [h.name, h]));
    assert.deepEqual(headers['dd-api-key']?.secretKeyRef, { name: 'datadog-api-key', key: 'api-key' });
    assert.equal(headers['dd-api-key']?.value, undefined, 'the key is never written in the resource');
    assert.equal(headers['dd-otlp-source']?.value, 'llmobs');
    // Jaeger, traces only.
    const jaeger = exporters.find((x) => /jaeger/.test(x.exporter.endpoint));
    assert.ok(jaeger);
    assert.deepEqual(jaeger.exporter.signals, ['traces']);
    // A regulated namespace: sidecar, no content, every redaction entity the CRD knows.
    type Crd = {
      spec: {
        versions: {
          schema: {
            openAPIV3Schema: {
              properties: {
                spec: {
                  properties: { redaction: { properties: { entities: { items: { enum: string[] } } } } };
                };
              };
            };
          };
        }[];
      };
    };
    const crd = yaml.load(readFileSync(join(here, 'llmobs.dev_llmobservabilities.yaml'), 'utf8')) as Crd;
    const entityEnum =
      crd.spec.versions[0]?.schema.openAPIV3Schema.properties.spec.properties.redaction.properties.entities
        .items.enum ?? [];
    assert.ok(entityEnum.length >= 8);
    const regulated = resources.find(
      (r) => r.spec?.processor?.mode === 'sidecar' && r.spec?.contentCapture === 'none',
    );
    assert.ok(regulated, 'a sidecar resource capturing no content');
    assert.deepEqual([...(regulated.spec?.redaction?.entities ?? [])].sort(), [...entityEnum].sort());
  });

  test('every example LLMObservability meets the example policies that select its namespace', async () => {
    const { resources, policies, namespaceLabels } = await storedExamples();
    let governed = 0;
    for (const r of resources) {
      const selecting = policiesFor(policies, namespaceLabels.get(r.metadata.namespace) ?? {});
      governed += selecting.length > 0 ? 1 : 0;
      const { violations } = effectiveConfig(r, selecting);
      assert.deepEqual(violations, [], `${r.metadata.namespace}/${r.metadata.name}`);
    }
    assert.ok(governed >= 1, 'at least one example runs under an example policy');
  });

  test('defaults make an empty spec safe: no content, gateway, full sampling, redaction on, cost on', async () => {
    const [obj] = await kubeApply(cp, [
      resource('defaults', { exporters: [{ name: 'tempo', endpoint: 'http://tempo:4318' }] }),
    ]);
    const spec = obj?.spec as Record<string, Record<string, unknown> | string>;
    assert.equal(spec.contentCapture, 'none');
    assert.deepEqual(spec.processor, { mode: 'gateway' });
    assert.deepEqual(spec.sampling, { ratio: 1 });
    assert.deepEqual((spec.redaction as Record<string, unknown>).entities, [
      'email',
      'credit_card',
      'api_key',
    ]);
    assert.deepEqual(spec.cost, { enabled: true, currency: 'USD' });
    assert.deepEqual(spec.cardinality, { maxSeriesPerMetric: 2000 });
    assert.deepEqual(spec.metrics, { enabled: true, prometheus: { enabled: true } });
    // Tail sampling, the judge and the feedback endpoint are off until asked for.
    assert.deepEqual(spec.quality, {
      tailSampling: {
        enabled: false,
        keepPercentage: 10,
        latencyThreshold: '30s',
        costThreshold: 1,
        decisionWait: '30s',
      },
      evaluation: { enabled: false, samplingPercentage: 5, budget: { maxRequestsPerMinute: 60 } },
      feedback: { enabled: false },
    });
    // Restarting outdated workloads is opt-in.
    assert.deepEqual(spec.rollout, { enabled: false, maxWorkloadsPerMinute: 2, pauseOnCrashLoop: true });
    const exporter = (spec.exporters as unknown as Record<string, unknown>[])[0];
    assert.equal(exporter?.protocol, 'http/protobuf');
    assert.deepEqual(exporter?.signals, ['traces', 'metrics', 'logs']);
  });

  test('takes an exporter’s signals as a set of at least one of traces, metrics and logs', async () => {
    const exporter = (signals: unknown) => ({ name: 'jaeger', endpoint: 'http://jaeger:4318', signals });
    assert.match(
      await refusal(cp, resource('s1', { exporters: [exporter([])] })),
      /spec\.exporters\[0\]\.signals: Invalid value.*at least 1 items/,
    );
    assert.match(
      await refusal(cp, resource('s2', { exporters: [exporter(['traces', 'traces'])] })),
      /spec\.exporters\[0\]\.signals\[1\]: Duplicate value/,
    );
    assert.match(
      await refusal(cp, resource('s3', { exporters: [exporter(['spans'])] })),
      /spec\.exporters\[0\]\.signals\[0\]: Unsupported value: "spans"/,
    );
    const [obj] = await kubeApply(cp, [resource('s4', { exporters: [exporter(['traces'])] })]);
    const spec = obj?.spec as { exporters: { signals: string[] }[] };
    assert.deepEqual(spec.exporters[0]?.signals, ['traces']);
  });

  test('refuses bad resources with the field named', async () => {
    assert.match(await refusal(cp, resource('r1', { sampling: { ratio: 2 } })), /spec\.sampling\.ratio/);
    assert.match(
      await refusal(cp, resource('r2', { processor: { mode: 'daemonset' } })),
      /spec\.processor\.mode: Unsupported value: "daemonset"/,
    );
    assert.match(
      await refusal(cp, resource('r3', { processor: { mode: 'sidecar', replicas: 2 } })),
      /spec\.processor\.replicas: Invalid value.*replicas applies to gateway mode only/,
    );
    assert.match(
      await refusal(
        cp,
        resource('r4', {
          exporters: [
            {
              name: 'dd',
              endpoint: 'x:4317',
              headers: [{ name: 'DD-API-KEY', value: 'k', secretKeyRef: { name: 's', key: 'k' } }],
            },
          ],
        }),
      ),
      /spec\.exporters\[0\]\.headers\[0\].*set exactly one of value and secretKeyRef/,
    );
    assert.match(
      await refusal(
        cp,
        resource('r5', {
          exporters: [
            { name: 'a', endpoint: 'x:1' },
            { name: 'a', endpoint: 'y:1' },
          ],
        }),
      ),
      /spec\.exporters\[1\]: Duplicate value/,
    );
    assert.match(
      await refusal(cp, resource('r6', { contentCapture: 'everything' })),
      /spec\.contentCapture: Unsupported value/,
    );
    assert.match(
      await refusal(cp, resource('r7', { redaction: { entities: ['passport'] } })),
      /spec\.redaction\.entities\[0\]/,
    );
    assert.match(
      await refusal(cp, resource('r8', { rollout: { enabled: true, maxWorkloadsPerMinute: 0 } })),
      /spec\.rollout\.maxWorkloadsPerMinute: Invalid value.*greater than or equal to 1/,
    );
    assert.match(
      await refusal(cp, resource('r9', { rollout: { maxWorkloadsPerMinute: 61 } })),
      /spec\.rollout\.maxWorkloadsPerMinute: Invalid value.*less than or equal to 60/,
    );
  });

  test('refuses cost, cardinality and metrics settings the processor could not run, with the field named', async () => {
    assert.match(
      await refusal(
        cp,
        resource('c1', { cost: { prices: [{ model: 'ft:gpt-4o-mini:acme', provider: 'openai' }] } }),
      ),
      /spec\.cost\.prices\[0\].*set at least one price/,
    );
    assert.match(
      await refusal(cp, resource('c2', { cost: { currency: 'EUR' } })),
      /spec\.cost.*a currency other than USD needs prices or a catalogueConfigMap/,
    );
    assert.match(
      await refusal(
        cp,
        resource('c3', {
          cost: {
            modelAliases: [
              { from: 'chat-prod', to: 'gpt-4o' },
              { from: 'chat-prod', to: 'gpt-4o-mini' },
            ],
          },
        }),
      ),
      /spec\.cost\.modelAliases\[1\]: Duplicate value/,
    );
    assert.match(
      await refusal(
        cp,
        resource('c4', {
          processor: { mode: 'sidecar' },
          cost: { catalogueConfigMap: { name: 'prices', key: 'catalogue.yaml' } },
        }),
      ),
      /spec\.cost\.catalogueConfigMap: Invalid value.*needs gateway mode/,
    );
    assert.match(
      await refusal(
        cp,
        resource('c5', {
          metrics: { dimensions: Array.from({ length: 17 }, (_, i) => ({ name: `d${i}` })) },
        }),
      ),
      /spec\.metrics\.dimensions: Too many/,
    );
    assert.match(
      await refusal(
        cp,
        resource('c6', { cardinality: { attributeValueCaps: [{ key: 'user.*', maxValues: 5 }] } }),
      ),
      /spec\.cardinality\.attributeValueCaps\[0\]\.key/,
    );
    assert.match(
      await refusal(cp, resource('c7', { cardinality: { excludeAttributes: ['otel.metric.overflow'] } })),
      /spec\.cardinality\.excludeAttributes\[0\].*always kept/,
    );
    // A currency other than USD is fine with its own prices, or with cost switched off.
    await kubeApply(cp, [
      resource('c8', {
        cost: { currency: 'EUR', prices: [{ model: 'mistral-large', inputPerMillion: 1.8 }] },
      }),
      resource('c9', { cost: { enabled: false, currency: 'EUR' } }),
    ]);
  });

  test('refuses quality settings the processor could not run as asked, with the field named', async () => {
    const judge = { endpoint: 'https://api.openai.com/v1', model: 'gpt-4o-mini' };
    const rubrics = [{ name: 'answered_question', question: "Does the answer address the user's question?" }];
    assert.match(
      await refusal(
        cp,
        resource('q1', { processor: { replicas: 3 }, quality: { tailSampling: { enabled: true } } }),
      ),
      /spec\.quality\.tailSampling\.enabled: Invalid value.*every span of a trace at one processor/,
    );
    assert.match(
      await refusal(cp, resource('q2', { quality: { tailSampling: { latencyThreshold: '30 seconds' } } })),
      /spec\.quality\.tailSampling\.latencyThreshold/,
    );
    assert.match(
      await refusal(cp, resource('q3', { quality: { tailSampling: { decisionWait: '500ms' } } })),
      /spec\.quality\.tailSampling\.decisionWait: Invalid value.*must be from 1s to 10m/,
    );
    assert.match(
      await refusal(cp, resource('q4', { quality: { tailSampling: { latencyThreshold: '0s' } } })),
      /spec\.quality\.tailSampling\.latencyThreshold: Invalid value.*must be greater than 0/,
    );
    assert.match(
      await refusal(cp, resource('q5', { quality: { tailSampling: { keepPercentage: 101 } } })),
      /spec\.quality\.tailSampling\.keepPercentage/,
    );
    assert.match(
      await refusal(cp, resource('q6', { quality: { tailSampling: { costThreshold: 0 } } })),
      /spec\.quality\.tailSampling\.costThreshold/,
    );
    assert.match(
      await refusal(cp, resource('q7', { quality: { evaluation: { enabled: true, rubrics } } })),
      /spec\.quality\.evaluation\.judge: Invalid value.*needs a judge/,
    );
    assert.match(
      await refusal(cp, resource('q8', { quality: { evaluation: { enabled: true, judge } } })),
      /spec\.quality\.evaluation\.rubrics: Invalid value.*at least one rubric/,
    );
    assert.match(
      await refusal(
        cp,
        resource('q9', {
          quality: { evaluation: { enabled: true, judge, rubrics: [{ name: 'Grounded', question: 'q?' }] } },
        }),
      ),
      /spec\.quality\.evaluation\.rubrics\[0\]\.name/,
    );
    assert.match(
      await refusal(
        cp,
        resource('q10', {
          quality: { evaluation: { enabled: true, judge, rubrics: [...rubrics, ...rubrics] } },
        }),
      ),
      /spec\.quality\.evaluation\.rubrics\[1\]: Duplicate value/,
    );
    assert.match(
      await refusal(
        cp,
        resource('q11', {
          quality: {
            evaluation: {
              enabled: true,
              judge,
              rubrics: Array.from({ length: 17 }, (_, i) => ({ name: `r${i}`, question: 'q?' })),
            },
          },
        }),
      ),
      /spec\.quality\.evaluation\.rubrics: Too many/,
    );
    assert.match(
      await refusal(
        cp,
        resource('q12', {
          quality: {
            evaluation: { enabled: true, judge: { ...judge, endpoint: 'api.openai.com' }, rubrics },
          },
        }),
      ),
      /spec\.quality\.evaluation\.judge\.endpoint/,
    );
    // One gateway replica, sidecar mode, and a disabled evaluation without a judge are fine.
    const applied = await kubeApply(cp, [
      resource('q13', { processor: { replicas: 1 }, quality: { tailSampling: { enabled: true } } }),
      resource('q14', { processor: { mode: 'sidecar' }, quality: { tailSampling: { enabled: true } } }),
      resource('q15', { processor: { replicas: 3 }, quality: { evaluation: { samplingPercentage: 50 } } }),
      resource('q16', {
        quality: {
          tailSampling: { enabled: true, decisionWait: '1m30s', latencyThreshold: '2.5s' },
          evaluation: { enabled: true, judge, rubrics },
          feedback: { enabled: true },
        },
      }),
    ]);
    const spec = applied[3]?.spec as { quality?: { evaluation?: Record<string, unknown> } } | undefined;
    const judged = spec?.quality?.evaluation ?? {};
    assert.deepEqual(judged.judge, { ...judge, timeout: '20s' });
    assert.deepEqual(judged.rubrics, [{ ...rubrics[0], needsDocuments: false }]);
  });

  test('publishes descriptions in OpenAPI v3, which is what kubectl explain reads', async () => {
    const res = await kubeRequest(cp, 'GET', '/openapi/v3/apis/llmobs.dev/v1alpha1');
    assert.equal(res.status, 200);
    const doc = JSON.parse(res.body) as {
      components: {
        schemas: Record<string, SchemaNode>;
      };
    };
    const schema = doc.components.schemas['dev.llmobs.v1alpha1.LLMObservability'];
    assert.match(schema?.description ?? '', /makes the LLM workloads of one namespace observable/);
    assert.match(
      schema?.properties?.spec?.properties?.contentCapture?.description ?? '',
      /none \(metadata only\), redacted/,
    );
    assert.match(
      schema?.properties?.spec?.properties?.quality?.properties?.tailSampling?.description ?? '',
      /Every span of a trace must reach the same processor/,
    );
    const exporters = schema?.properties?.spec?.properties?.exporters as
      | (SchemaNode & { readonly items?: SchemaNode })
      | undefined;
    assert.match(
      exporters?.items?.properties?.signals?.description ?? '',
      /Jaeger and\s+Grafana Tempo take traces only, so set \[traces\]/,
    );
    const policy = doc.components.schemas['dev.llmobs.v1alpha1.LLMObservabilityPolicy'];
    assert.match(policy?.description ?? '', /platform floors/);
  });

  test('prints Ready, Mode, Instrumented and Age columns', async () => {
    // kubectl get asks for a server-side Table; ask the same way.
    const res = await kubeRequest(
      cp,
      'GET',
      `${BASE}/namespaces/default/llmobservabilities`,
      undefined,
      undefined,
      {
        accept: 'application/json;as=Table;v=v1;g=meta.k8s.io',
      },
    );
    assert.equal(res.status, 200);
    const table = res.body;
    const columns = (
      JSON.parse(table) as { columnDefinitions: { name: string; priority: number }[] }
    ).columnDefinitions
      .filter((c) => c.priority === 0)
      .map((c) => c.name);
    assert.deepEqual(columns, ['Name', 'Ready', 'Mode', 'Instrumented', 'Age']);
  });
});
