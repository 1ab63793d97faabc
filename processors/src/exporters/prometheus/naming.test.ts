import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatFloat, labelName, metricFamilyName, type OtlpKind, unitSuffixes } from './naming.ts';

const WITH = { namespace: '', addMetricSuffixes: true };
const WITHOUT = { namespace: '', addMetricSuffixes: false };

test('names metrics with unit and type suffixes as the Collector translator does', () => {
  const table: [name: string, unit: string, kind: OtlpKind, want: string | undefined][] = [
    // units
    ['http.server.request.duration', 's', 'histogram', 'http_server_request_duration_seconds'],
    ['response_time', 'ms', 'gauge', 'response_time_milliseconds'],
    ['memory_usage', 'By', 'gauge', 'memory_usage_bytes'],
    ['uptime', 'd', 'gauge', 'uptime_days'],
    ['duration', 'h', 'gauge', 'duration_hours'],
    ['wait', 'min', 'gauge', 'wait_minutes'],
    ['latency', 'us', 'gauge', 'latency_microseconds'],
    ['latency', 'ns', 'gauge', 'latency_nanoseconds'],
    ['heap', 'MiBy', 'gauge', 'heap_mebibytes'],
    ['disk', 'GBy', 'gauge', 'disk_gigabytes'],
    ['temperature', 'Cel', 'gauge', 'temperature_celsius'],
    ['clock', 'Hz', 'gauge', 'clock_hertz'],
    ['cpu', '%', 'gauge', 'cpu_percent'],
    ['custom_metric', 'custom_unit', 'gauge', 'custom_metric_custom_unit'],
    [
      'metric__with__multiple__underscores',
      'unit__multiple__underscores',
      'gauge',
      'metric_with_multiple_underscores_unit_multiple_underscores',
    ],
    // per units
    ['requests', '1/s', 'gauge', 'requests_per_second'],
    ['throughput', 'By/s', 'gauge', 'throughput_bytes_per_second'],
    ['speed', 'm/h', 'gauge', 'speed_meters_per_hour'],
    ['custom_metric', 'unit@with#special/chars', 'gauge', 'custom_metric_unit_with_special_per_chars'],
    ['custom_metric', 'By/{custom}', 'gauge', 'custom_metric_bytes'],
    ['requests', '{request}/s', 'gauge', 'requests_per_second'],
    // annotations contribute nothing
    ['gen_ai.client.token.usage', '{token}', 'histogram', 'gen_ai_client_token_usage'],
    ['system.network.dropped', '{packets}', 'monotonic_sum', 'system_network_dropped_total'],
    // a unit already in the name is not repeated
    ['response_time_seconds', 's', 'gauge', 'response_time_seconds'],
    ['cpu.seconds.total', 's', 'monotonic_sum', 'cpu_seconds_total'],
    // _total for monotonic sums only, moved to the end
    ['requests', '', 'monotonic_sum', 'requests_total'],
    ['requests_total', '', 'monotonic_sum', 'requests_total'],
    ['total.requests', 'By', 'monotonic_sum', 'requests_bytes_total'],
    ['system.io', 'By', 'monotonic_sum', 'system_io_bytes_total'],
    ['active_connections', '', 'non_monotonic_sum', 'active_connections'],
    ['items', '1', 'monotonic_sum', 'items_total'],
    // _ratio for gauges of unit 1 only
    ['cpu_usage', '1', 'gauge', 'cpu_usage_ratio'],
    ['cpu_usage_ratio', '1', 'gauge', 'cpu_usage_ratio'],
    ['queue.fill', '1', 'non_monotonic_sum', 'queue_fill'],
    ['hits', '1', 'histogram', 'hits'],
    // characters
    ['metric@with#special$chars', '', 'gauge', 'metric_with_special_chars'],
    ['métric.ñame', '', 'gauge', 'm_tric_ame'],
    ['ns:sub.metric', '', 'gauge', 'ns:sub_metric'],
    ['123_requests', '', 'monotonic_sum', '_123_requests_total'],
    ['@#$%', '', 'gauge', undefined],
    ['', 's', 'gauge', undefined],
  ];
  for (const [name, unit, kind, want] of table) {
    assert.equal(metricFamilyName(name, unit, kind, WITH), want, `${name} [${unit}] ${kind}`);
  }
});

test('puts the namespace in front of every name', () => {
  const app = { namespace: 'app', addMetricSuffixes: true };
  assert.equal(metricFamilyName('requests', '1/s', 'monotonic_sum', app), 'app_requests_per_second_total');
  assert.equal(metricFamilyName('123_requests', '', 'monotonic_sum', app), 'app_123_requests_total');
  assert.equal(
    metricFamilyName('metric', '', 'gauge', { namespace: 'test_namespace', addMetricSuffixes: false }),
    'test_namespace_metric',
  );
});

test('without suffixes only replaces invalid characters', () => {
  const table: [string, string, OtlpKind, string | undefined][] = [
    ['simple_metric', '', 'gauge', 'simple_metric'],
    ['http.server.duration', 's', 'histogram', 'http_server_duration'],
    ['requests', '1', 'monotonic_sum', 'requests'],
    ['ratio', '1', 'gauge', 'ratio'],
    ['metric@@##$$name', '', 'gauge', 'metric_name'],
    ['metric__keeps__underscores', '', 'gauge', 'metric__keeps__underscores'],
    ['123metric', '', 'gauge', '_123metric'],
    ['@#$%', '', 'gauge', undefined],
  ];
  for (const [name, unit, kind, want] of table) {
    assert.equal(metricFamilyName(name, unit, kind, WITHOUT), want, name);
  }
});

test('splits units into main and per-unit words', () => {
  assert.deepEqual(unitSuffixes('By/s'), { main: 'bytes', per: 'per_second' });
  assert.deepEqual(unitSuffixes('{req}/mo'), { main: '', per: 'per_month' });
  assert.deepEqual(unitSuffixes('1'), { main: '', per: '' });
  assert.deepEqual(unitSuffixes(' s '), { main: 'seconds', per: '' });
  assert.deepEqual(unitSuffixes('kg/w'), { main: 'kg', per: 'per_week' });
  assert.deepEqual(unitSuffixes('toString'), { main: 'toString', per: '' }, 'no prototype lookups');
});

test('sanitises label names: invalid runes to _, leading digits and single underscores prefixed', () => {
  const table: [string, string | undefined][] = [
    ['http.method', 'http_method'],
    ['gen_ai.request.model', 'gen_ai_request_model'],
    ['k8s.pod.name', 'k8s_pod_name'],
    ['123invalid', 'key_123invalid'],
    ['_private', 'key_private'],
    ['_', 'key_'],
    ['a b-c', 'a_b_c'],
    ['ümlaut', 'key_mlaut'],
    ['__reserved__', undefined],
    ['__', undefined],
    ['', undefined],
  ];
  for (const [key, want] of table) assert.equal(labelName(key), want, key);
});

test('formats floats as Go strconv %g does for sample values and le labels', () => {
  const table: [number, string][] = [
    [0, '0'],
    [1, '1'],
    [-2.5, '-2.5'],
    [0.005, '0.005'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [1.5e-7, '1.5e-07'],
    [123456, '123456'],
    [1000000, '1e+06'],
    [123456789, '1.23456789e+08'],
    [1e21, '1e+21'],
    [2 ** 53, '9.007199254740992e+15'],
    [Number.POSITIVE_INFINITY, '+Inf'],
    [Number.NEGATIVE_INFINITY, '-Inf'],
    [Number.NaN, 'NaN'],
  ];
  for (const [v, want] of table) assert.equal(formatFloat(v), want, String(v));
});
