import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigText } from '../../config/load.ts';
import { defaultRegistry } from '../../service/registry.ts';
import type { OtlpReceiverConfig } from './factory.ts';

const load = (http: string) =>
  loadConfigText(
    `
receivers:
  otlp:
    protocols:
      http: ${http}
exporters:
  debug: {}
service:
  telemetry: { metrics: { level: none } }
  pipelines:
    traces: { receivers: [otlp], exporters: [debug] }
`,
    defaultRegistry(),
    {},
  );

test('HTTP timeouts default to the Collector’s read_header_timeout and idle_timeout, and 5m to read a request', () => {
  const { config, errors } = load('{}');
  assert.deepEqual(errors, []);
  const http = (config?.receivers.get('otlp')?.config as OtlpReceiverConfig | undefined)?.http;
  assert.deepEqual(http?.timeouts, { readHeaderMs: 60_000, readMs: 300_000, idleMs: 60_000 });
});

test('HTTP timeouts are read as durations, 0 meaning none', () => {
  const { config, errors } = load('{ read_header_timeout: 2s, read_timeout: "0", idle_timeout: 1m30s }');
  assert.deepEqual(errors, []);
  const http = (config?.receivers.get('otlp')?.config as OtlpReceiverConfig | undefined)?.http;
  assert.deepEqual(http?.timeouts, { readHeaderMs: 2_000, readMs: 0, idleMs: 90_000 });
});

test('refuses a bad duration and a header timeout longer than the request timeout, naming the field', () => {
  assert.deepEqual(load('{ read_timeout: soon }').errors, [
    'receivers.otlp.protocols.http.read_timeout: invalid duration "soon" (use e.g. 200ms, 5s, 1m)',
  ]);
  assert.deepEqual(load('{ read_header_timeout: 2m, read_timeout: 1m }').errors, [
    'receivers.otlp.protocols.http.read_header_timeout: must not exceed read_timeout',
  ]);
});
