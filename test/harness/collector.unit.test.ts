import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collectorConfig, FILE_SINK } from './collector.ts';

const ports = { grpc: 1, http: 2, health: 3, metrics: 4 };

interface Shape {
  receivers: { otlp: { protocols: { grpc: { endpoint: string }; http: { endpoint: string } } } };
  exporters: Record<string, unknown>;
  extensions: Record<string, { endpoint: string }>;
  service: {
    extensions: string[];
    telemetry: {
      metrics: { level: string; readers: { pull: { exporter: { prometheus: Record<string, unknown> } } }[] };
    };
    pipelines: Record<string, { receivers: string[]; processors?: string[]; exporters: string[] }>;
  };
}

test('listens only on loopback, on the ports it was given', () => {
  const cfg = collectorConfig({}, ports, '/tmp/s.jsonl') as unknown as Shape;
  assert.equal(cfg.receivers.otlp.protocols.grpc.endpoint, '127.0.0.1:1');
  assert.equal(cfg.receivers.otlp.protocols.http.endpoint, '127.0.0.1:2');
  assert.equal(cfg.extensions.health_check?.endpoint, '127.0.0.1:3');
  assert.deepEqual(cfg.service.telemetry.metrics.readers[0]?.pull.exporter.prometheus, {
    host: '127.0.0.1',
    port: 4,
  });
});

test('without pipelines, one traces pipeline runs the processors in the order given into every exporter', () => {
  const cfg = collectorConfig(
    { processors: { redaction: {}, batch: {}, attributes: {} }, exporters: { debug: {} } },
    ports,
    '/tmp/s.jsonl',
  ) as unknown as Shape;
  assert.deepEqual(cfg.service.pipelines, {
    traces: {
      receivers: ['otlp'],
      processors: ['redaction', 'batch', 'attributes'],
      exporters: ['debug', FILE_SINK],
    },
  });
  assert.deepEqual(cfg.exporters[FILE_SINK], {
    path: '/tmp/s.jsonl',
    format: 'json',
    flush_interval: '100ms',
  });
});

test('explicit pipelines default their receiver to otlp and get no file sink they did not name', () => {
  const cfg = collectorConfig(
    { exporters: { debug: {} }, pipelines: { 'traces/x': { exporters: ['debug'] } } },
    ports,
    '/tmp/s.jsonl',
  ) as unknown as Shape;
  assert.deepEqual(cfg.service.pipelines, { 'traces/x': { receivers: ['otlp'], exporters: ['debug'] } });
});

test('conventional metric names are opt-in, and a config with nowhere to export is refused', () => {
  const cfg = collectorConfig(
    { selfMetrics: { typeAndUnitSuffixes: true } },
    ports,
    '/tmp/s',
  ) as unknown as Shape;
  const prom = cfg.service.telemetry.metrics.readers[0]?.pull.exporter.prometheus;
  assert.equal(prom?.without_type_suffix, false);
  assert.equal(prom?.without_units, false);
  assert.throws(() => collectorConfig({ fileSink: false }, ports, undefined), /at least one exporter/);
  assert.throws(() => collectorConfig({ exporters: { [FILE_SINK]: {} } }, ports, '/tmp/s'), /reserved/);
});
