import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { OtlpGrpcExporterConfig } from '../exporters/otlpgrpc/factory.ts';
import type { OtlpHttpExporterConfig } from '../exporters/otlphttp/factory.ts';
import type { OtlpReceiverConfig } from '../receivers/otlp/factory.ts';
import { defaultRegistry, Registry } from '../service/registry.ts';
import { loadConfigText } from './load.ts';
import { validateConfig } from './validate.ts';

const registry = defaultRegistry();
const load = (text: string, env: NodeJS.ProcessEnv = {}) => loadConfigText(text, registry, env);

/** A valid config the cases below break one field at a time. */
const VALID = `
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:4318
exporters:
  otlp_http/tempo:
    endpoint: http://tempo:4318
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlp_http/tempo]
`;

describe('config validation', () => {
  test('accepts a valid config and fills in the defaults', () => {
    const { config, errors, warnings } = load(VALID);
    assert.deepEqual(errors, []);
    assert.deepEqual(warnings, []);
    assert.ok(config);
    assert.equal(config.metrics, undefined, 'level: none serves no /metrics');
    const exp = config.exporters.get('otlp_http/tempo')?.config as OtlpHttpExporterConfig;
    assert.equal(exp.urls.traces, 'http://tempo:4318/v1/traces');
    assert.equal(exp.compression, 'gzip');
    assert.equal(exp.retry.initialIntervalMs, 5_000);
    assert.equal(exp.queue.queueSizeBytes, 64 * 1024 * 1024);
    const rcv = config.receivers.get('otlp')?.config as OtlpReceiverConfig;
    assert.equal(rcv.grpc, undefined, 'a protocol is enabled only by being present');
    assert.deepEqual(rcv.http?.paths, { traces: '/v1/traces', metrics: '/v1/metrics', logs: '/v1/logs' });
    assert.deepEqual(config.pipelines, [
      { id: 'traces', signal: 'traces', receivers: ['otlp'], processors: [], exporters: ['otlp_http/tempo'] },
    ]);
  });

  test('lists every problem of a broken config at once, each with its path', () => {
    const { config, errors } = load(`
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:4318
        max_request_body_size: lots
  kafka: {}
processors:
  memory_limiter:
    check_interval: 5 seconds
    limit_mib: 100
exporters:
  otlp_http/noendpoint:
    compression: gzip
  otlp_grpc/noendpoint: {}
  otlp_http/typo:
    endpoint: http://tempo:4318
    retry_on_faillure: {}
  otlp_http/badduration:
    endpoint: http://tempo:4318
    timeout: 10 sec
  otlp_http/badurl:
    endpoint: tempo:4318
extensions:
  health_check:
    endpoint: no-port-here
service:
  extensions: [health_check, pprof]
  telemetry:
    metrics:
      address: localhost
  pipelines:
    spans:
      receivers: [otlp]
      exporters: [otlp_http/typo]
    traces:
      receivers: [otlp, zipkin]
      processors: [batch]
      exporters: [otlp_http/missing]
    logs:
      receivers: [otlp]
      exporters: []
`);
    assert.equal(config, undefined);
    const expected = [
      'receivers.otlp.protocols.http.max_request_body_size: invalid size "lots" (use bytes or e.g. 512KiB, 20MiB)',
      `receivers.kafka: unknown type: "kafka" for id: "kafka" (valid values: [${defaultRegistry().types('receivers').join(' ')}])`,
      'processors.memory_limiter.check_interval: invalid duration "5 seconds" (use e.g. 200ms, 5s, 1m)',
      'exporters.otlp_http/noendpoint.endpoint: must be set (or traces_endpoint / metrics_endpoint / logs_endpoint)',
      'exporters.otlp_grpc/noendpoint.endpoint: must be set',
      'exporters.otlp_http/typo: has invalid keys: retry_on_faillure',
      'exporters.otlp_http/badduration.timeout: invalid duration "10 sec" (use e.g. 200ms, 5s, 1m)',
      'exporters.otlp_http/badurl.endpoint: invalid URL "tempo:4318": scheme must be http or https',
      'extensions.health_check.endpoint: must be host:port, got "no-port-here"',
      'service.extensions: references extension "pprof" which is not configured',
      'service.telemetry.metrics.address: must be host:port, got "localhost"',
      'service.pipelines.spans: unknown signal "spans" (valid values: [traces metrics logs])',
      'service.pipelines.traces.receivers: references receiver "zipkin" which is not configured',
      'service.pipelines.traces.processors: references processor "batch" which is not configured',
      'service.pipelines.traces.exporters: references exporter "otlp_http/missing" which is not configured',
      'service.pipelines.logs.exporters: must have at least one entry',
    ];
    for (const e of expected)
      assert.ok(errors.includes(e), `missing error: ${e}\ngot:\n  ${errors.join('\n  ')}`);
    assert.deepEqual([...errors].sort(), [...expected].sort(), 'each problem once, nothing else');
  });

  test('names the valid types of each section when a type is unknown', () => {
    const { errors } = load(`
receivers:
  otlp:
    protocols: { grpc: {} }
processors:
  redactor: {}
exporters:
  tempo: {}
extensions:
  zpages: {}
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [tempo] }
`);
    assert.ok(
      errors.includes(
        `processors.redactor: unknown type: "redactor" for id: "redactor" (valid values: [${defaultRegistry().types('processors').join(' ')}])`,
      ),
      errors.join('\n'),
    );
    assert.ok(
      errors.includes(
        `exporters.tempo: unknown type: "tempo" for id: "tempo" (valid values: [${defaultRegistry().types('exporters').join(' ')}])`,
      ),
      errors.join('\n'),
    );
    assert.ok(
      errors.includes(
        'extensions.zpages: unknown type: "zpages" for id: "zpages" (valid values: [health_check])',
      ),
      errors.join('\n'),
    );
    // A pipeline naming a component whose type is unknown is not reported a second time as "not configured".
    assert.equal(errors.filter((e) => e.startsWith('service.')).length, 0, errors.join('\n'));
  });

  test('rejects malformed component ids, unknown top-level keys, connectors and bad enum values', () => {
    const { errors } = load(`
receivers:
  otlp:
    protocols: { grpc: {} }
exporters:
  1debug: {}
  debug/has space: {}
  debug:
    verbosity: loud
connectors:
  forward: {}
extension: {}
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [debug] }
`);
    for (const e of [
      `exporters.1debug: invalid type "1debug": must start with a letter and contain only letters, digits and '_'`,
      `exporters.debug/has space: invalid name "has space": must be non-empty without spaces or '/'`,
      'exporters.debug.verbosity: must be one of "basic", "normal", "detailed"',
      'connectors: connectors are not supported by this distribution',
      'extension: unknown top-level key',
    ]) {
      assert.ok(errors.includes(e), `missing error: ${e}\ngot:\n  ${errors.join('\n  ')}`);
    }
  });

  test('reports invalid YAML and a config that is not a mapping without throwing', () => {
    assert.match(load('receivers: [unclosed').errors[0] ?? '', /^config: invalid YAML: /);
    assert.deepEqual(validateConfig('just a string', registry).errors, [
      'config: must be a YAML mapping with receivers, exporters and service',
    ]);
    assert.deepEqual(load(VALID.replace(/service:[\s\S]*/, '')).errors, [
      'service: must be set, with service.pipelines',
    ]);
  });

  test('a receiver or exporter used by a pipeline of a signal it does not support is reported', () => {
    // Every factory of the default registry supports every signal; the check is exercised with one that does not.
    const debug = registry.lookup('exporters', 'debug');
    const otlp = registry.lookup('receivers', 'otlp');
    assert.ok(debug?.kind === 'exporter' && otlp);
    const custom = new Registry([otlp, { ...debug, type: 'traces_only', signals: ['traces'] }]);
    const { errors } = loadConfigText(
      `
receivers:
  otlp: { protocols: { grpc: {} } }
exporters:
  traces_only: {}
service:
  telemetry: { metrics: { level: none } }
  pipelines:
    logs: { receivers: [otlp], exporters: [traces_only] }
`,
      custom,
      {},
    );
    assert.deepEqual(errors, [
      'service.pipelines.logs.exporters: exporter "traces_only" does not support logs',
    ]);
  });
});

describe('environment variable expansion in config values', () => {
  const TEMPLATE = `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: \${env:LISTEN}
exporters:
  otlp_http/a:
    endpoint: \${env:TEMPO_URL}
    headers:
      x-scope-orgid: \${TENANT}
      authorization: Bearer \${env:TOKEN:-anonymous}
      x-literal: $$\{not-expanded}
  otlp_grpc/b:
    endpoint: \${env:JAEGER:-127.0.0.1:4317}
    tls: { insecure: true }
service:
  telemetry: { metrics: { level: none } }
  pipelines:
    traces: { receivers: [otlp], exporters: [otlp_http/a, otlp_grpc/b] }
`;

  test('substitutes set variables, defaults for unset ones, and $$ as a literal $', () => {
    const { config, errors, warnings } = load(TEMPLATE, {
      LISTEN: '127.0.0.1:14317',
      TEMPO_URL: 'http://tempo.observability:4318',
      TENANT: 'team-a',
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(warnings, []);
    assert.ok(config);
    const a = config.exporters.get('otlp_http/a')?.config as OtlpHttpExporterConfig;
    assert.equal(a.urls.traces, 'http://tempo.observability:4318/v1/traces');
    assert.deepEqual(a.headers, {
      'x-scope-orgid': 'team-a',
      authorization: 'Bearer anonymous',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal text is what $$ must produce
      'x-literal': '${not-expanded}',
    });
    const b = config.exporters.get('otlp_grpc/b')?.config as OtlpGrpcExporterConfig;
    assert.equal(b.endpoint, '127.0.0.1:4317');
    const rcv = config.receivers.get('otlp')?.config as OtlpReceiverConfig;
    assert.deepEqual([rcv.grpc?.host, rcv.grpc?.port], ['127.0.0.1', 14317]);
  });

  test('a set variable wins over the default', () => {
    const { config } = load(TEMPLATE, {
      LISTEN: '127.0.0.1:1',
      TEMPO_URL: 'http://t:1',
      TENANT: 't',
      TOKEN: 's3cret',
      JAEGER: 'jaeger:14317',
    });
    const a = config?.exporters.get('otlp_http/a')?.config as OtlpHttpExporterConfig;
    assert.equal(a.headers.authorization, 'Bearer s3cret');
    const b = config?.exporters.get('otlp_grpc/b')?.config as OtlpGrpcExporterConfig;
    assert.equal(b.endpoint, 'jaeger:14317');
  });

  test('an unset variable without a default is a warning, and the empty value it leaves is an error', () => {
    const { config, errors, warnings } = load(TEMPLATE, { LISTEN: '127.0.0.1:1', TENANT: 't' });
    assert.equal(config, undefined);
    assert.deepEqual(warnings, ['environment variable TEMPO_URL is not set; using an empty value']);
    assert.deepEqual(errors, ['exporters.otlp_http/a.endpoint: invalid URL "": Invalid URL']);
  });
});

describe('exporter type aliases', () => {
  test('otlphttp and otlp are accepted as the deprecated names of otlp_http and otlp_grpc', () => {
    const { config, errors } = load(`
receivers:
  otlp: { protocols: { http: {} } }
exporters:
  otlphttp/legacy:
    endpoint: http://collector:4318
    encoding: json
  otlp/legacy:
    endpoint: http://collector:4317
service:
  telemetry: { metrics: { level: none } }
  pipelines:
    traces: { receivers: [otlp], exporters: [otlphttp/legacy, otlp/legacy] }
`);
    assert.deepEqual(errors, []);
    assert.equal(config?.exporters.get('otlphttp/legacy')?.factory.type, 'otlp_http');
    const h = config?.exporters.get('otlphttp/legacy')?.config as OtlpHttpExporterConfig;
    assert.equal(h.encoding, 'json');
    assert.equal(config?.exporters.get('otlp/legacy')?.factory.type, 'otlp_grpc');
    const g = config?.exporters.get('otlp/legacy')?.config as OtlpGrpcExporterConfig;
    assert.deepEqual([g.endpoint, g.insecure], ['collector:4317', true], 'an http:// URL means plaintext');
  });
});

describe('pipelines fed by a processor', () => {
  const config = (pipelines: string, metricsPipelines = '[metrics/genai]') => `
receivers:
  otlp:
    protocols: { http: {} }
processors:
  llm_metrics: { metrics_pipelines: ${metricsPipelines} }
exporters:
  debug: {}
service:
  pipelines:
${pipelines}
`;
  test('accepts a metrics pipeline with no receivers when llm_metrics feeds it', () => {
    const { errors } = load(
      config(`    traces: { receivers: [otlp], processors: [llm_metrics], exporters: [debug] }
    metrics/genai: { receivers: [], exporters: [debug] }`),
    );
    assert.deepEqual(errors, []);
  });
  test('names a fed pipeline that does not exist, or carries another signal', () => {
    const { errors } = load(
      config(
        `    traces: { receivers: [otlp], processors: [llm_metrics], exporters: [debug] }
    logs/x: { receivers: [otlp], exporters: [debug] }`,
        '[metrics/nope, logs/x]',
      ),
    );
    assert.ok(
      errors.some((e) => e.includes('metrics_pipelines')),
      errors.join('\n'),
    );
  });
  test('still asks for receivers on a pipeline nothing feeds', () => {
    const { errors } = load(
      config(`    traces: { receivers: [otlp], exporters: [debug] }
    metrics/genai: { receivers: [], exporters: [debug] }`),
    );
    assert.ok(
      errors.includes(
        'service.pipelines.metrics/genai.receivers: must have at least one entry (or be fed by a processor)',
      ),
      errors.join('\n'),
    );
  });
});

describe('processor order warnings', () => {
  const config = (processors: string) => `
receivers: { otlp: { protocols: { http: {} } } }
processors:
  llm_redaction: {}
  llm_sampling: {}
  llm_evaluation: { judge: { endpoint: "http://judge:8000/v1", model: gpt-4o-mini }, rubrics: [{ name: a, question: q }] }
exporters: { debug: {} }
service: { pipelines: { traces: { receivers: [otlp], processors: ${processors}, exporters: [debug] } } }
`;
  test('warns when the judge would see content before redaction, or a processor runs after sampling', () => {
    const { errors, warnings } = load(config('[llm_evaluation, llm_sampling, llm_redaction]'));
    assert.deepEqual(errors, []);
    assert.ok(
      warnings.some((w) => w.includes('judge sees unredacted prompts')),
      warnings.join('\n'),
    );
    assert.deepEqual(load(config('[llm_redaction, llm_sampling, llm_evaluation]')).warnings.length, 1);
    assert.deepEqual(load(config('[llm_redaction, llm_evaluation, llm_sampling]')).warnings, []);
  });
});
