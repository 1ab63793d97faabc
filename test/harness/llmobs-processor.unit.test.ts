import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as yaml from 'js-yaml';
import { endpointsOf, port, processorConfig, renderConfig } from './llmobs-processor.ts';

const PORTS = new Map([
  ['grpc', 4001],
  ['http', 4002],
  ['health', 4003],
  ['metrics', 4004],
]);

test('processorConfig puts every listener on loopback behind a port placeholder', () => {
  const text = renderConfig(processorConfig({ exporters: { debug: {} } }), PORTS);
  assert.deepEqual(yaml.load(text), {
    extensions: { health_check: { endpoint: '127.0.0.1:4003' } },
    receivers: {
      otlp: { protocols: { grpc: { endpoint: '127.0.0.1:4001' }, http: { endpoint: '127.0.0.1:4002' } } },
    },
    exporters: { debug: {} },
    service: {
      extensions: ['health_check'],
      telemetry: { logs: { level: 'info' }, metrics: { address: '127.0.0.1:4004' } },
      pipelines: { traces: { receivers: ['otlp'], exporters: ['debug'] } },
    },
  });
  assert.deepEqual(endpointsOf(text), {
    http: 'http://127.0.0.1:4002',
    grpc: '127.0.0.1:4001',
    health: 'http://127.0.0.1:4003/',
    metrics: 'http://127.0.0.1:4004/metrics',
  });
});

test('processorConfig passes processors, pipelines and protocol settings through', () => {
  const cfg = processorConfig({
    exporters: { 'otlp_http/a': { endpoint: 'http://a' }, debug: {} },
    processors: { memory_limiter: { check_interval: '1s', limit_mib: 100 } },
    pipelines: { 'traces/a': { processors: ['memory_limiter'], exporters: ['otlp_http/a'] } },
    http: { max_request_body_size: '1MiB' },
  }) as {
    processors: unknown;
    receivers: { otlp: { protocols: { http: Record<string, unknown> } } };
    service: { pipelines: unknown };
  };
  assert.deepEqual(cfg.processors, { memory_limiter: { check_interval: '1s', limit_mib: 100 } });
  assert.equal(cfg.receivers.otlp.protocols.http.max_request_body_size, '1MiB');
  assert.deepEqual(cfg.service.pipelines, {
    'traces/a': { receivers: ['otlp'], processors: ['memory_limiter'], exporters: ['otlp_http/a'] },
  });
});

test('a placeholder that is a whole value becomes a number, in objects and in YAML text', () => {
  const fromObject = yaml.load(renderConfig({ a: port('grpc'), b: [`x:${port('grpc')}`] }, PORTS));
  assert.deepEqual(fromObject, { a: 4001, b: ['x:4001'] });
  assert.deepEqual(yaml.load(renderConfig(`a: ${port('http')}\nb: "h:${port('http')}"\n`, PORTS)), {
    a: 4002,
    b: 'h:4002',
  });
  assert.throws(() => renderConfig({ a: port('nope') }, PORTS), /no port for placeholder\(s\) nope/);
});

test('endpoints follow the processor defaults, wildcard addresses and a disabled /metrics', () => {
  assert.deepEqual(
    endpointsOf(`
receivers:
  otlp/in:
    protocols:
      http:
      grpc: { endpoint: "0.0.0.0:5317" }
extensions:
  health_check/x: { endpoint: "[::]:13134", path: /health }
service:
  extensions: [health_check/x]
  telemetry: { metrics: { level: none } }
`),
    {
      http: 'http://localhost:4318',
      grpc: '127.0.0.1:5317',
      health: 'http://[::1]:13134/health',
    },
  );
  assert.deepEqual(endpointsOf('receivers: {}\n'), { metrics: 'http://localhost:8888/metrics' });
});
