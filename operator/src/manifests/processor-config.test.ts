import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as yaml from 'js-yaml';
import { loadConfigText } from '../../../processors/src/config/load.ts';
import { defaultRegistry } from '../../../processors/src/service/registry.ts';
import { effectiveConfig } from './effective.ts';
import { renderProcessorConfig } from './processor-config.ts';
import type { LLMObservability } from './resources.ts';

const cr = (spec: LLMObservability['spec']): LLMObservability => ({
  apiVersion: 'llmobs.dev/v1alpha1',
  kind: 'LLMObservability',
  metadata: { name: 'chat', namespace: 'llm-app' },
  spec,
});

/** Validates with the processor's own loader, exactly as the processor will at startup. */
function processorAccepts(config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): readonly string[] {
  return loadConfigText(yaml.dump(config), defaultRegistry(), env).errors;
}

test('the rendered gateway config is valid for the processor and routes every signal to every exporter', () => {
  const eff = effectiveConfig(
    cr({
      exporters: [
        {
          name: 'tempo',
          endpoint: 'http://tempo:4318',
          headers: [{ name: 'X-Scope-OrgID', value: 'team-a' }],
        },
        { name: 'dd', endpoint: 'datadog-agent.datadog:4317', protocol: 'grpc', insecure: true },
      ],
    }),
    [],
  );
  const { config } = renderProcessorConfig(eff, { memoryLimitMib: 400 });
  assert.deepEqual(processorAccepts(config), []);
  const pipelines = (config.service as { pipelines: Record<string, { exporters: string[] }> }).pipelines;
  for (const signal of ['traces', 'metrics', 'logs']) {
    assert.deepEqual(pipelines[signal]?.exporters, ['otlp_http/tempo', 'otlp_grpc/dd']);
  }
});

test('secret-backed headers are referenced by env name; the secret never appears in the config', () => {
  const eff = effectiveConfig(
    cr({
      exporters: [
        {
          name: 'datadog',
          endpoint: 'https://otlp.datadoghq.com',
          headers: [{ name: 'DD-API-KEY', secretKeyRef: { name: 'datadog', key: 'api-key' } }],
        },
      ],
    }),
    [],
  );
  const { config, secretEnv } = renderProcessorConfig(eff, { memoryLimitMib: 400 });
  assert.deepEqual(secretEnv, [{ name: 'LLMOBS_DATADOG_DD_API_KEY', secretName: 'datadog', key: 'api-key' }]);
  const exporter = (config.exporters as Record<string, { headers: Record<string, string> }>)[
    'otlp_http/datadog'
  ];
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the processor's own ${env:VAR} syntax, not a JS template
  assert.equal(exporter?.headers['DD-API-KEY'], '${env:LLMOBS_DATADOG_DD_API_KEY}');
  assert.deepEqual(processorAccepts(config, { LLMOBS_DATADOG_DD_API_KEY: 'k' }), []);
});

test('a literal $ in a header value survives the processor’s env expansion', () => {
  const eff = effectiveConfig(
    cr({
      exporters: [
        { name: 'x', endpoint: 'http://x:4318', headers: [{ name: 'Authorization', value: 'Basic a$b' }] },
      ],
    }),
    [],
  );
  const { config } = renderProcessorConfig(eff, { memoryLimitMib: 400 });
  const loaded = loadConfigText(yaml.dump(config), defaultRegistry(), {});
  const exp = loaded.config?.exporters.get('otlp_http/x')?.config as { headers: Record<string, string> };
  assert.equal(exp.headers.Authorization, 'Basic a$b');
});

test('a sidecar listens for OTLP on localhost only', () => {
  const { config } = renderProcessorConfig(effectiveConfig(cr({ processor: { mode: 'sidecar' } }), []), {
    memoryLimitMib: 100,
  });
  const protocols = (config.receivers as { otlp: { protocols: Record<string, { endpoint: string }> } }).otlp
    .protocols;
  assert.equal(protocols.grpc?.endpoint, '127.0.0.1:4317');
  assert.equal(protocols.http?.endpoint, '127.0.0.1:4318');
});

test('with no allowed exporter the processor still runs, logging instead of exporting', () => {
  const { config } = renderProcessorConfig(effectiveConfig(cr({}), []), { memoryLimitMib: 100 });
  assert.deepEqual(Object.keys(config.exporters as object), ['debug']);
  assert.deepEqual(processorAccepts(config), []);
});

test('redaction is always in the pipeline, with the policy floor’s entities and the custom patterns', () => {
  const eff = effectiveConfig(
    cr({
      redaction: { entities: ['email'], customPatterns: [{ name: 'ticket', regex: 'TCK-[0-9]{8}' }] },
      exporters: [{ name: 't', endpoint: 'http://t:4318' }],
    }),
    [
      {
        apiVersion: 'llmobs.dev/v1alpha1',
        kind: 'LLMObservabilityPolicy',
        metadata: { name: 'cards' },
        spec: { redaction: { requiredEntities: ['credit_card'] } },
      },
    ],
  );
  const { config } = renderProcessorConfig(eff, { memoryLimitMib: 100 });
  const red = (config.processors as Record<string, Record<string, unknown>>).llm_redaction;
  assert.deepEqual(red?.entities, ['credit_card', 'email']);
  assert.deepEqual(red?.custom_patterns, [{ name: 'ticket', regex: 'TCK-[0-9]{8}' }]);
  assert.equal(red?.action, 'mask');
  const traces = (config.service as { pipelines: Record<string, { processors: string[] }> }).pipelines.traces;
  assert.deepEqual(traces?.processors, ['memory_limiter', 'llm_redaction']);
  assert.deepEqual(processorAccepts(config), []);
});

test('hash redaction reads the gateway’s mounted key; a sidecar masks instead', () => {
  const gw = renderProcessorConfig(effectiveConfig(cr({ redaction: { action: 'hash' } }), []), {
    memoryLimitMib: 100,
  });
  const red = (gw.config.processors as Record<string, Record<string, unknown>>).llm_redaction;
  assert.equal(red?.action, 'hash');
  assert.deepEqual(red?.hmac, { key_file: '/etc/llmobs/hmac/key' });
  const sc = renderProcessorConfig(
    effectiveConfig(cr({ redaction: { action: 'hash' }, processor: { mode: 'sidecar' } }), []),
    {
      memoryLimitMib: 100,
    },
  );
  assert.equal(
    (sc.config.processors as Record<string, Record<string, unknown>>).llm_redaction?.action,
    'mask',
  );
});
