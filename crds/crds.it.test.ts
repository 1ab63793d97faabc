import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as yaml from 'js-yaml';
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
    const exporter = (spec.exporters as unknown as Record<string, unknown>[])[0];
    assert.equal(exporter?.protocol, 'http/protobuf');
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

  test('publishes descriptions in OpenAPI v3, which is what kubectl explain reads', async () => {
    const res = await kubeRequest(cp, 'GET', '/openapi/v3/apis/llmobs.dev/v1alpha1');
    assert.equal(res.status, 200);
    const doc = JSON.parse(res.body) as {
      components: {
        schemas: Record<
          string,
          {
            description?: string;
            properties?: Record<
              string,
              { description?: string; properties?: Record<string, { description?: string }> }
            >;
          }
        >;
      };
    };
    const schema = doc.components.schemas['dev.llmobs.v1alpha1.LLMObservability'];
    assert.match(schema?.description ?? '', /makes the LLM workloads of one namespace observable/);
    assert.match(
      schema?.properties?.spec?.properties?.contentCapture?.description ?? '',
      /none \(metadata only\), redacted/,
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
