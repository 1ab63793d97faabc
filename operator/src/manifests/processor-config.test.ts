import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as yaml from 'js-yaml';
import { loadConfigText } from '../../../processors/src/config/load.ts';
import { defaultRegistry } from '../../../processors/src/service/registry.ts';
import { effectiveConfig, PROCESSOR_CAPABILITIES } from './effective.ts';
import { renderProcessorConfig } from './processor-config.ts';
import type { LLMObservability } from './resources.ts';

const cr = (spec: LLMObservability['spec']): LLMObservability => ({
  apiVersion: 'llmobs.dev/v1alpha1',
  kind: 'LLMObservability',
  metadata: { name: 'chat', namespace: 'llm-app' },
  spec,
});

type Pipeline = { receivers: string[]; processors: string[]; exporters: string[] };
const pipelinesOf = (config: Record<string, unknown>) =>
  (config.service as { pipelines: Record<string, Pipeline> }).pipelines;
const processorsOf = (config: Record<string, unknown>) =>
  config.processors as Record<string, Record<string, unknown> | undefined>;
const exportersOf = (config: Record<string, unknown>) =>
  config.exporters as Record<string, Record<string, unknown> | undefined>;
const render = (spec: LLMObservability['spec']) =>
  renderProcessorConfig(effectiveConfig(cr(spec), []), { memoryLimitMib: 100 });
const tempo: NonNullable<NonNullable<LLMObservability['spec']>['exporters']> = [
  { name: 'tempo', endpoint: 'http://tempo:4318' },
];

/** Validates with the processor's own loader, exactly as the processor will at startup. */
function processorAccepts(config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): readonly string[] {
  return loadConfigText(yaml.dump(config), defaultRegistry(), env).errors;
}

test('the rendered gateway config is valid for the processor and routes every signal to every exporter that takes all three (the default)', () => {
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

test('sends only traces to an exporter that takes traces only', () => {
  const { config, prometheus } = render({
    exporters: [
      { name: 'jaeger', endpoint: 'http://jaeger-collector.observability:4318', signals: ['traces'] },
      { name: 'dd', endpoint: 'datadog-agent.datadog:4317', protocol: 'grpc', insecure: true },
    ],
  });
  assert.deepEqual(processorAccepts(config), []);
  const pipelines = pipelinesOf(config);
  assert.deepEqual(pipelines.traces?.exporters, ['otlp_http/jaeger', 'otlp_grpc/dd']);
  assert.deepEqual(pipelines.metrics?.exporters, ['otlp_grpc/dd']);
  assert.deepEqual(pipelines.logs?.exporters, ['otlp_grpc/dd']);
  // The derived metrics count as metrics: Datadog and Prometheus, never Jaeger.
  assert.deepEqual(pipelines['metrics/genai']?.exporters, ['otlp_grpc/dd', 'prometheus']);
  assert.equal(prometheus, true);
  assert.deepEqual(Object.keys(exportersOf(config)), ['otlp_http/jaeger', 'otlp_grpc/dd', 'prometheus']);
});

test('leaves out a metrics pipeline no exporter takes', () => {
  const { config, prometheus } = render({
    exporters: [{ name: 'tempo', endpoint: 'http://tempo:4318', signals: ['traces', 'logs'] }],
  });
  assert.deepEqual(processorAccepts(config), []);
  const pipelines = pipelinesOf(config);
  assert.deepEqual(Object.keys(pipelines), ['traces', 'logs', 'metrics/genai']);
  assert.deepEqual(pipelines.logs?.exporters, ['otlp_http/tempo']);
  // Derived metrics still reach Prometheus, bounded by cardinality_limit.
  assert.deepEqual(pipelines['metrics/genai'], {
    receivers: [],
    processors: ['cardinality_limit'],
    exporters: ['prometheus'],
  });
  assert.equal(prometheus, true);
  assert.ok(pipelines.traces?.processors.includes('llm_metrics'));
});

test('leaves out a logs pipeline no exporter takes', () => {
  const { config } = render({
    exporters: [{ name: 'tempo', endpoint: 'http://tempo:4318', signals: ['traces', 'metrics'] }],
  });
  assert.deepEqual(processorAccepts(config), []);
  assert.deepEqual(Object.keys(pipelinesOf(config)), ['traces', 'metrics', 'metrics/genai']);
  assert.deepEqual(pipelinesOf(config)['metrics/genai']?.exporters, ['otlp_http/tempo', 'prometheus']);
});

test('logs traces no exporter takes, and sends metrics and logs on', () => {
  const { config } = render({
    exporters: [{ name: 'mimir', endpoint: 'http://mimir:4318', signals: ['metrics', 'logs'] }],
  });
  assert.deepEqual(processorAccepts(config), []);
  assert.deepEqual(exportersOf(config).debug, { verbosity: 'basic' });
  assert.deepEqual(pipelinesOf(config).traces?.exporters, ['debug']);
  assert.deepEqual(pipelinesOf(config).metrics?.exporters, ['otlp_http/mimir']);
  assert.deepEqual(pipelinesOf(config).logs?.exporters, ['otlp_http/mimir']);
});

test('leaves llm_metrics and its pipeline out when neither an exporter nor Prometheus takes derived metrics', () => {
  const jaeger: typeof tempo = [{ name: 'jaeger', endpoint: 'http://jaeger:4318', signals: ['traces'] }];
  const { config, prometheus } = render({
    metrics: { prometheus: { enabled: false } },
    exporters: jaeger,
  });
  assert.deepEqual(processorAccepts(config), []);
  assert.equal(prometheus, false);
  assert.deepEqual(Object.keys(pipelinesOf(config)), ['traces']);
  assert.deepEqual(pipelinesOf(config).traces?.processors, ['memory_limiter', 'llm_redaction', 'llm_cost']);
  // Nothing left to bound: no metrics pipeline uses cardinality_limit.
  assert.deepEqual(Object.keys(processorsOf(config)), ['memory_limiter', 'llm_redaction', 'llm_cost']);
  assert.deepEqual(Object.keys(exportersOf(config)), ['otlp_http/jaeger']);
  // Verdict counts would have no pipeline to join: the judge's spans still go out with the traces.
  const judged = render({
    metrics: { prometheus: { enabled: false } },
    quality: { evaluation: { enabled: true, judge, rubrics } },
    exporters: jaeger,
  });
  assert.equal(processorsOf(judged.config).llm_evaluation?.metrics_pipelines, undefined);
  assert.deepEqual(processorAccepts(judged.config, judgeEnv), []);
});

test('an exporter that says nothing of signals renders exactly as one that lists all three', () => {
  const all = render({
    exporters: [
      { name: 'dd', endpoint: 'dd:4317', protocol: 'grpc', signals: ['logs', 'metrics', 'traces'] },
    ],
  });
  const unset = render({ exporters: [{ name: 'dd', endpoint: 'dd:4317', protocol: 'grpc' }] });
  assert.deepEqual(all.config, unset.config);
  assert.deepEqual(Object.keys(pipelinesOf(unset.config)), ['traces', 'metrics', 'logs', 'metrics/genai']);
});

test('every example renders a config the processor accepts, with Jaeger and Tempo sent traces only', () => {
  const examples = join(import.meta.dirname, '..', '..', '..', 'examples');
  const files = readdirSync(examples, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.yaml'))
    .map((e) => join(e.parentPath, e.name));
  let checked = 0;
  for (const file of files) {
    for (const doc of yaml.loadAll(readFileSync(file, 'utf8')) as { kind?: string }[]) {
      if (doc?.kind !== 'LLMObservability') continue;
      const example = structuredClone(doc) as LLMObservability;
      // Mounted from the ConfigMap in a cluster; the processor would look for the file here.
      if (example.spec?.cost) delete example.spec.cost.catalogueConfigMap;
      const { config } = renderProcessorConfig(effectiveConfig(example, []), { memoryLimitMib: 400 });
      assert.deepEqual(processorAccepts(config, { ...judgeEnv, LLMOBS_DATADOG_DD_API_KEY: 'k' }), [], file);
      for (const e of example.spec?.exporters ?? []) {
        if (!/jaeger|tempo/.test(`${e.name} ${e.endpoint}`)) continue;
        const id = `otlp_http/${e.name}`;
        for (const [name, p] of Object.entries(pipelinesOf(config)))
          assert.equal(p.exporters.includes(id), name === 'traces', `${file}: ${id} in ${name}`);
      }
      checked++;
    }
  }
  assert.ok(checked >= 5, `${checked} examples`);
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
        {
          name: 'x',
          endpoint: 'http://x:4318',
          headers: [
            { name: 'Authorization', value: 'Basic a$b' },
            // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal the processor must not expand
            { name: 'X-Token', value: 'Bearer ${HOME}' },
          ],
        },
      ],
    }),
    [],
  );
  const { config } = renderProcessorConfig(eff, { memoryLimitMib: 400 });
  const loaded = loadConfigText(yaml.dump(config), defaultRegistry(), { HOME: '/root' });
  const exp = loaded.config?.exporters.get('otlp_http/x')?.config as { headers: Record<string, string> };
  assert.equal(exp.headers.Authorization, 'Basic a$b');
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal the processor must not expand
  assert.equal(exp.headers['X-Token'], 'Bearer ${HOME}');
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
  assert.deepEqual(Object.keys(config.exporters as object), ['debug', 'prometheus']);
  // Every signal is accepted and logged (status says NoExporter), not only traces.
  for (const signal of ['traces', 'metrics', 'logs'])
    assert.deepEqual(pipelinesOf(config)[signal]?.exporters, ['debug']);
  assert.deepEqual(pipelinesOf(config)['metrics/genai']?.exporters, ['debug', 'prometheus']);
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
  for (const p of Object.values(pipelinesOf(config)).filter((p) => p.receivers.includes('otlp'))) {
    assert.deepEqual(p.processors.slice(0, 2), ['memory_limiter', 'llm_redaction']);
  }
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

test('traces run redaction, then cost, then derived metrics, so the metrics carry the cost', () => {
  const { config } = render({ exporters: tempo });
  assert.deepEqual(pipelinesOf(config).traces?.processors, [
    'memory_limiter',
    'llm_redaction',
    'llm_cost',
    'llm_metrics',
  ]);
});

test('renders an Azure deployment alias into llm_cost model_aliases', () => {
  const { config } = render({
    cost: { modelAliases: [{ from: 'chat-prod-eastus', to: 'gpt-4o' }] },
    exporters: tempo,
  });
  const cost = processorsOf(config).llm_cost;
  assert.deepEqual(cost?.model_aliases, { 'chat-prod-eastus': 'gpt-4o' });
  assert.equal(cost?.currency, 'USD');
  assert.equal(cost?.builtin_catalogue, true);
});

test('maps every price of the resource to the processor’s per-million (or per-hour) keys', () => {
  const { config } = render({
    cost: {
      prices: [
        {
          model: 'ft:gpt-4o-mini:acme:support:2026-09',
          provider: 'openai',
          aliases: ['support-bot'],
          inputPerMillion: 0.3,
          outputPerMillion: 1.2,
          cacheReadPerMillion: 0.15,
          cacheWritePerMillion: 0.375,
          cacheWrite1hPerMillion: 0.6,
          reasoningPerMillion: 1.2,
        },
        { model: 'llama-3.1-70b-instruct', provider: '', perHour: 4.5 },
      ],
    },
    exporters: tempo,
  });
  assert.deepEqual(processorsOf(config).llm_cost?.prices, [
    {
      model: 'ft:gpt-4o-mini:acme:support:2026-09',
      provider: 'openai',
      aliases: ['support-bot'],
      input: 0.3,
      output: 1.2,
      cache_read: 0.15,
      cache_write_5m: 0.375,
      cache_write_1h: 0.6,
      reasoning: 1.2,
    },
    // An empty provider means any provider: left out, as the processor wants.
    { model: 'llama-3.1-70b-instruct', per_hour: 4.5 },
  ]);
});

test('turns off the built-in catalogue for a non-USD currency', () => {
  const { config } = render({
    cost: {
      currency: 'EUR',
      prices: [{ model: 'mistral-large', inputPerMillion: 1.8, outputPerMillion: 5.4 }],
    },
    exporters: tempo,
  });
  const cost = processorsOf(config).llm_cost;
  assert.equal(cost?.currency, 'EUR');
  assert.equal(cost?.builtin_catalogue, false);
});

test('leaves cost out when cost.enabled is false', () => {
  const { config } = render({ cost: { enabled: false, prices: [{ model: 'm', inputPerMillion: 1 }] } });
  assert.equal(processorsOf(config).llm_cost, undefined);
  assert.ok(!pipelinesOf(config).traces?.processors.includes('llm_cost'));
  assert.deepEqual(pipelinesOf(config).traces?.processors, [
    'memory_limiter',
    'llm_redaction',
    'llm_metrics',
  ]);
});

test('feeds derived metrics through cardinality_limit into a receiver-less pipeline', () => {
  const { config, prometheus } = render({
    cardinality: {
      maxSeriesPerMetric: 500,
      attributeValueCaps: [{ key: 'gen_ai.request.model', maxValues: 50 }],
      excludeAttributes: ['user.*', '*.id'],
    },
    exporters: [
      { name: 'tempo', endpoint: 'http://tempo:4318' },
      { name: 'dd', endpoint: 'datadog-agent.datadog:4317', protocol: 'grpc', insecure: true },
    ],
  });
  const metrics = processorsOf(config).llm_metrics;
  assert.deepEqual(metrics?.metrics_pipelines, ['metrics/genai']);
  // The aggregator is bounded at the source too.
  assert.deepEqual(metrics?.cardinality, {
    max_series_per_metric: 500,
    attribute_value_caps: [{ key: 'gen_ai.request.model', max_values: 50 }],
  });
  assert.deepEqual(processorsOf(config).cardinality_limit, {
    max_series_per_metric: 500,
    attribute_value_caps: [{ key: 'gen_ai.request.model', max_values: 50 }],
    exclude_attributes: ['user.*', '*.id'],
  });
  assert.deepEqual(pipelinesOf(config)['metrics/genai'], {
    receivers: [],
    processors: ['cardinality_limit'],
    exporters: ['otlp_http/tempo', 'otlp_grpc/dd', 'prometheus'],
  });
  assert.equal(prometheus, true);
});

test('bounds the metrics applications send with the same cardinality_limit, after redaction', () => {
  const { config } = render({ cardinality: { maxSeriesPerMetric: 300 }, exporters: tempo });
  assert.deepEqual(pipelinesOf(config).metrics?.processors, [
    'memory_limiter',
    'llm_redaction',
    'cardinality_limit',
  ]);
  assert.deepEqual(processorsOf(config).cardinality_limit, { max_series_per_metric: 300 });
  // Application metrics never reach the Prometheus endpoint: only derived metrics do.
  assert.deepEqual(pipelinesOf(config).metrics?.exporters, ['otlp_http/tempo']);
});

test('serves derived metrics for Prometheus on 0.0.0.0:8889 in both modes', () => {
  for (const mode of ['gateway', 'sidecar'] as const) {
    const { config } = render({ processor: { mode }, exporters: tempo });
    assert.deepEqual(exportersOf(config).prometheus, {
      endpoint: '0.0.0.0:8889',
      resource_to_telemetry_conversion: { enabled: true },
    });
  }
});

test('leaves the prometheus exporter out when metrics.prometheus.enabled is false, OTLP export stays', () => {
  const { config, prometheus } = render({ metrics: { prometheus: { enabled: false } }, exporters: tempo });
  assert.equal(prometheus, false);
  assert.equal(exportersOf(config).prometheus, undefined);
  assert.deepEqual(pipelinesOf(config)['metrics/genai']?.exporters, ['otlp_http/tempo']);
});

test('leaves llm_metrics, its pipeline and the prometheus exporter out when metrics.enabled is false', () => {
  const { config, prometheus } = render({ metrics: { enabled: false }, exporters: tempo });
  assert.equal(prometheus, false);
  assert.equal(processorsOf(config).llm_metrics, undefined);
  assert.equal(exportersOf(config).prometheus, undefined);
  assert.deepEqual(Object.keys(pipelinesOf(config)), ['traces', 'metrics', 'logs']);
  assert.deepEqual(pipelinesOf(config).traces?.processors, ['memory_limiter', 'llm_redaction', 'llm_cost']);
});

test('renders metric dimensions, with their default value where one is given', () => {
  const { config } = render({
    metrics: { dimensions: [{ name: 'team', default: 'unknown' }, { name: 'gen_ai.agent.name' }] },
    exporters: tempo,
  });
  assert.deepEqual(processorsOf(config).llm_metrics?.dimensions, [
    { name: 'team', default: 'unknown' },
    { name: 'gen_ai.agent.name' },
  ]);
});

test('a gateway reads the catalogue ConfigMap from its mount; a sidecar never refers to it', () => {
  const catalogueConfigMap = { name: 'llm-prices', key: 'prices.yaml' };
  const gw = render({ cost: { catalogueConfigMap }, exporters: tempo });
  assert.deepEqual(processorsOf(gw.config).llm_cost?.catalogue_files, [
    '/etc/llmobs/catalogue/catalogue.yaml',
  ]);
  assert.deepEqual(gw.catalogue, catalogueConfigMap);
  const sc = render({ processor: { mode: 'sidecar' }, cost: { catalogueConfigMap }, exporters: tempo });
  assert.equal(processorsOf(sc.config).llm_cost?.catalogue_files, undefined);
  assert.equal(sc.catalogue, undefined);
  const off = render({ cost: { enabled: false, catalogueConfigMap }, exporters: tempo });
  assert.equal(off.catalogue, undefined);
});

test('llm_cost and llm_metrics as rendered are valid for the processor', () => {
  // Without cardinality_limit and the prometheus exporter, to check these two on their own.
  const eff = effectiveConfig(
    cr({
      cost: {
        prices: [{ model: 'ft:gpt-4o-mini:acme', provider: 'openai', inputPerMillion: 0.3, perHour: 2 }],
        modelAliases: [{ from: 'chat-prod', to: 'gpt-4o' }],
      },
      metrics: { dimensions: [{ name: 'team', default: 'none' }], prometheus: { enabled: false } },
      exporters: tempo,
    }),
    [],
    { ...PROCESSOR_CAPABILITIES, cardinality: false },
  );
  const { config } = renderProcessorConfig(eff, { memoryLimitMib: 100 });
  assert.deepEqual(processorAccepts(config), []);
});

test('a non-USD llm_cost and llm_metrics with its receiver-less pipeline are valid for the processor', () => {
  // Without cardinality_limit and the prometheus exporter, to check these on their own.
  const eff = effectiveConfig(
    cr({
      cost: {
        currency: 'EUR',
        prices: [{ model: 'mistral-large', inputPerMillion: 1.8, outputPerMillion: 5.4 }],
        modelAliases: [{ from: 'chat-prod', to: 'mistral-large' }],
      },
      metrics: { dimensions: [{ name: 'team', default: 'none' }], prometheus: { enabled: false } },
      exporters: tempo,
    }),
    [],
    { ...PROCESSOR_CAPABILITIES, cardinality: false },
  );
  const { config } = renderProcessorConfig(eff, { memoryLimitMib: 100 });
  assert.deepEqual(processorAccepts(config), []);
});

test('the full default rendering (cost, derived metrics, cardinality_limit, prometheus) is valid for the processor', () => {
  for (const mode of ['gateway', 'sidecar'] as const) {
    const { config } = render({
      processor: { mode },
      cardinality: {
        attributeValueCaps: [{ key: 'gen_ai.request.model', maxValues: 50 }],
        excludeAttributes: ['user.*'],
      },
      exporters: tempo,
    });
    assert.deepEqual(processorAccepts(config), [], mode);
  }
});

type Spec = NonNullable<LLMObservability['spec']>;
const judge = {
  endpoint: 'https://api.openai.com/v1',
  model: 'gpt-4o-mini',
  apiKeySecretRef: { name: 'judge-openai', key: 'api-key' },
};
const rubrics: NonNullable<NonNullable<Spec['quality']>['evaluation']>['rubrics'] = [
  { name: 'answered_question', question: "Does the answer address the user's question?" },
  { name: 'grounded', question: 'Is every claim supported by the documents?', needsDocuments: true },
];
/** Every quality feature on, with non-default values where the CRD has any. */
const everything: Spec['quality'] = {
  tailSampling: {
    enabled: true,
    keepPercentage: 25,
    latencyThreshold: '1m30s',
    costThreshold: 0.5,
    decisionWait: '45s',
  },
  evaluation: {
    enabled: true,
    judge: { ...judge, timeout: '15s' },
    rubrics,
    samplingPercentage: 20,
    budget: { maxRequestsPerMinute: 30, maxCostPerHour: 2 },
    judgePrice: { input: 0.15, output: 0.6 },
  },
  feedback: { enabled: true },
};
const judgeEnv = { LLMOBS_JUDGE_API_KEY: 'sk-test' };

test('the full rendering with tail sampling, evaluation and feedback is valid for the processor', () => {
  for (const mode of ['gateway', 'sidecar'] as const) {
    for (const metrics of [{}, { enabled: false }]) {
      const { config } = render({
        processor: { mode },
        contentCapture: 'redacted',
        cardinality: { attributeValueCaps: [{ key: 'gen_ai.request.model', maxValues: 50 }] },
        metrics,
        quality: everything,
        exporters: [
          {
            name: 'dd',
            endpoint: 'https://otlp.datadoghq.com',
            headers: [{ name: 'DD-API-KEY', secretKeyRef: { name: 'dd', key: 'k' } }],
          },
        ],
      });
      assert.deepEqual(
        processorAccepts(config, { ...judgeEnv, LLMOBS_DD_DD_API_KEY: 'k' }),
        [],
        `${mode} ${JSON.stringify(metrics)}`,
      );
    }
  }
});

test('renders llm_sampling last in the traces pipeline, after llm_evaluation', () => {
  const { config } = render({ quality: everything, exporters: tempo });
  assert.deepEqual(pipelinesOf(config).traces?.processors, [
    'memory_limiter',
    'llm_redaction',
    'llm_cost',
    'llm_metrics',
    'llm_evaluation',
    'llm_sampling',
  ]);
  // Traces only: metrics and logs are never held or judged.
  for (const signal of ['metrics', 'logs', 'metrics/genai']) {
    const p = pipelinesOf(config)[signal]?.processors ?? [];
    assert.ok(!p.includes('llm_sampling') && !p.includes('llm_evaluation'), signal);
  }
});

test('renders nothing of quality when it is off (the default)', () => {
  const { config, feedback } = render({ exporters: tempo });
  assert.equal(processorsOf(config).llm_sampling, undefined);
  assert.equal(processorsOf(config).llm_evaluation, undefined);
  assert.deepEqual(Object.keys(config.receivers as object), ['otlp']);
  assert.deepEqual(pipelinesOf(config).traces?.receivers, ['otlp']);
  assert.equal(feedback, false);
});

test('maps tailSampling to llm_sampling’s decision_wait and policy thresholds, other policies at their defaults', () => {
  const { config } = render({ quality: { tailSampling: everything?.tailSampling }, exporters: tempo });
  assert.deepEqual(processorsOf(config).llm_sampling, {
    decision_wait: '45s',
    policies: {
      latency: { threshold: '1m30s' },
      cost: { threshold: 0.5 },
      probabilistic: { sampling_percentage: 25 },
    },
  });
  assert.deepEqual(pipelinesOf(config).traces?.processors.at(-1), 'llm_sampling');
  const defaults = render({ quality: { tailSampling: { enabled: true } }, exporters: tempo });
  assert.deepEqual(processorsOf(defaults.config).llm_sampling, {
    decision_wait: '30s',
    policies: {
      latency: { threshold: '30s' },
      cost: { threshold: 1 },
      probabilistic: { sampling_percentage: 10 },
    },
  });
});

test('a decisionWait shorter than the 5s root grace caps the grace, as llm_sampling requires', () => {
  const { config } = render({
    quality: { tailSampling: { enabled: true, decisionWait: '2.5s' } },
    exporters: tempo,
  });
  const sampling = processorsOf(config).llm_sampling;
  assert.equal(sampling?.decision_wait, '2.5s');
  assert.equal(sampling?.root_grace, '2.5s');
  assert.deepEqual(processorAccepts(config), []);
  // 5s and longer leave the processor's own grace alone.
  for (const decisionWait of ['5s', '1m', '4500ms1s']) {
    const r = render({ quality: { tailSampling: { enabled: true, decisionWait } }, exporters: tempo });
    assert.equal(processorsOf(r.config).llm_sampling?.root_grace, undefined, decisionWait);
  }
});

test('reads the judge API key from a Secret, never into the ConfigMap', () => {
  const { config, secretEnv } = render({ quality: everything, exporters: tempo });
  assert.deepEqual(secretEnv, [{ name: 'LLMOBS_JUDGE_API_KEY', secretName: 'judge-openai', key: 'api-key' }]);
  const ev = processorsOf(config).llm_evaluation as { judge: Record<string, unknown> };
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the processor's own ${env:VAR} syntax, not a JS template
  assert.equal(ev.judge.api_key, '${env:LLMOBS_JUDGE_API_KEY}');
  assert.ok(!JSON.stringify(config).includes('judge-openai'));
  const loaded = loadConfigText(yaml.dump(config), defaultRegistry(), judgeEnv);
  assert.deepEqual(loaded.errors, []);
  const noKey = render({
    quality: {
      evaluation: { enabled: true, judge: { endpoint: 'http://vllm:8000/v1', model: 'llama' }, rubrics },
    },
    exporters: tempo,
  });
  assert.deepEqual(noKey.secretEnv, []);
  assert.equal(
    Object.hasOwn((processorsOf(noKey.config).llm_evaluation as { judge: object }).judge, 'api_key'),
    false,
  );
});

test('an exporter header Secret never takes the judge key’s variable', () => {
  const { secretEnv } = render({
    quality: everything,
    exporters: [
      {
        name: 'judge',
        endpoint: 'http://t:4318',
        headers: [{ name: 'API-KEY', secretKeyRef: { name: 'other', key: 'k' } }],
      },
    ],
  });
  assert.deepEqual(secretEnv, [
    { name: 'LLMOBS_JUDGE_API_KEY_2', secretName: 'other', key: 'k' },
    { name: 'LLMOBS_JUDGE_API_KEY', secretName: 'judge-openai', key: 'api-key' },
  ]);
});

test('maps the judge, rubrics, share, budget and judge price to llm_evaluation', () => {
  const { config } = render({ quality: { evaluation: everything?.evaluation }, exporters: tempo });
  assert.deepEqual(processorsOf(config).llm_evaluation, {
    judge: {
      endpoint: 'https://api.openai.com/v1',
      model: 'gpt-4o-mini',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the processor's own ${env:VAR} syntax, not a JS template
      api_key: '${env:LLMOBS_JUDGE_API_KEY}',
      timeout: '15s',
      price: { input: 0.15, output: 0.6 },
    },
    rubrics: [
      {
        name: 'answered_question',
        question: "Does the answer address the user's question?",
        needs_documents: false,
      },
      { name: 'grounded', question: 'Is every claim supported by the documents?', needs_documents: true },
    ],
    sampling_percentage: 20,
    budget: { max_requests_per_minute: 30, max_cost_per_hour: 2 },
    metrics_pipelines: ['metrics/genai'],
  });
  // Verdict counts join the derived metrics: evaluation without tail sampling stays last.
  assert.deepEqual(pipelinesOf(config).traces?.processors.at(-1), 'llm_evaluation');
});

test('sends verdict counts to metrics/genai only when derived metrics are on', () => {
  const { config } = render({
    metrics: { enabled: false },
    quality: { evaluation: { enabled: true, judge, rubrics } },
    exporters: tempo,
  });
  const ev = processorsOf(config).llm_evaluation;
  assert.equal(ev?.metrics_pipelines, undefined);
  assert.deepEqual(ev?.budget, { max_requests_per_minute: 60 });
  assert.deepEqual(pipelinesOf(config).traces?.processors, [
    'memory_limiter',
    'llm_redaction',
    'llm_cost',
    'llm_evaluation',
  ]);
  assert.deepEqual(processorAccepts(config, judgeEnv), []);
});

test('a rubric question with $ signs and an env-like reference reaches the judge as written', () => {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal the processor must not expand
  const question = 'Does the answer quote prices in $ (not ${currency}) and avoid $$?';
  const { config } = render({
    quality: { evaluation: { enabled: true, judge, rubrics: [{ name: 'prices', question }] } },
    exporters: tempo,
  });
  const loaded = loadConfigText(yaml.dump(config), defaultRegistry(), { ...judgeEnv, currency: 'EUR' });
  assert.deepEqual(loaded.errors, []);
  assert.deepEqual(loaded.warnings, []);
  const cfg = loaded.config?.processors.get('llm_evaluation')?.config as {
    rubrics: { question: string }[];
  };
  assert.equal(cfg.rubrics[0]?.question, question);
});

test('a cost cap on a judge model the processor cannot price needs judgePrice', () => {
  const unknown = { endpoint: 'http://vllm.models:8000/v1', model: 'acme-judge-7b' };
  const without = render({
    quality: { evaluation: { enabled: true, judge: unknown, rubrics, budget: { maxCostPerHour: 1 } } },
    exporters: tempo,
  });
  assert.match(processorAccepts(without.config).join('\n'), /judge\.price/);
  const priced = render({
    quality: {
      evaluation: {
        enabled: true,
        judge: unknown,
        rubrics,
        budget: { maxCostPerHour: 1 },
        judgePrice: { input: 0.1, output: 0.1 },
      },
    },
    exporters: tempo,
  });
  assert.deepEqual(processorAccepts(priced.config), []);
});

test('adds the feedback receiver to the traces pipeline only when asked, on localhost in a sidecar', () => {
  for (const [mode, host] of [
    ['gateway', '0.0.0.0'],
    ['sidecar', '127.0.0.1'],
  ] as const) {
    const { config, feedback } = render({
      processor: { mode },
      quality: { feedback: { enabled: true } },
      exporters: tempo,
    });
    assert.equal(feedback, true);
    assert.deepEqual((config.receivers as Record<string, unknown>).llm_feedback, {
      endpoint: `${host}:4320`,
    });
    assert.deepEqual(pipelinesOf(config).traces?.receivers, ['otlp', 'llm_feedback']);
    // Feedback spans are traces: the metrics and logs pipelines never list the receiver.
    assert.deepEqual(pipelinesOf(config).metrics?.receivers, ['otlp']);
    assert.deepEqual(pipelinesOf(config).logs?.receivers, ['otlp']);
    assert.deepEqual(processorAccepts(config), [], mode);
  }
  const off = render({ quality: { feedback: { enabled: false } }, exporters: tempo });
  assert.equal(off.feedback, false);
  assert.equal((off.config.receivers as Record<string, unknown>).llm_feedback, undefined);
});

test('the quality example renders a config the processor accepts, its judge key from the Secret', () => {
  const file = join(import.meta.dirname, '..', '..', '..', 'examples', 'quality', 'llmobservability.yaml');
  const docs = yaml.loadAll(readFileSync(file, 'utf8')) as { kind: string }[];
  const example = docs.find((d): d is LLMObservability => d.kind === 'LLMObservability');
  assert.ok(example);
  const { config, secretEnv, feedback } = renderProcessorConfig(effectiveConfig(example, []), {
    memoryLimitMib: 400,
  });
  assert.deepEqual(processorAccepts(config, judgeEnv), []);
  assert.deepEqual(secretEnv, [{ name: 'LLMOBS_JUDGE_API_KEY', secretName: 'judge-openai', key: 'api-key' }]);
  assert.equal(feedback, true);
  assert.deepEqual(pipelinesOf(config).traces?.processors.slice(-2), ['llm_evaluation', 'llm_sampling']);
});
