import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseExposition, prometheusConfig, sumSamples } from './prometheus.ts';

const text = `# HELP otelcol_receiver_accepted_spans Number of spans successfully pushed into the pipeline. [Alpha]
# TYPE otelcol_receiver_accepted_spans counter
otelcol_receiver_accepted_spans{receiver="otlp",transport="grpc"} 3
otelcol_receiver_accepted_spans{receiver="otlp",transport="http"} 6
otelcol_process_memory_rss 3.9190528e+07
weird{msg="a \\"quoted\\", comma\\nnewline",le="+Inf"} +Inf 1700000000000
# EOF
`;

test('parses exposition samples, labels with escapes, exponents, +Inf and timestamps', () => {
  const samples = parseExposition(text);
  assert.deepEqual(
    samples.map((s) => s.name),
    [
      'otelcol_receiver_accepted_spans',
      'otelcol_receiver_accepted_spans',
      'otelcol_process_memory_rss',
      'weird',
    ],
  );
  assert.deepEqual(samples[0]?.labels, { receiver: 'otlp', transport: 'grpc' });
  assert.equal(samples[2]?.value, 39190528);
  assert.deepEqual(samples[3]?.labels, { msg: 'a "quoted", comma\nnewline', le: '+Inf' });
  assert.equal(samples[3]?.value, Number.POSITIVE_INFINITY);
});

test('a line that is not a sample is an error naming it', () => {
  assert.throws(() => parseExposition('ok 1\nnot a sample line here\n'), /not a sample line here/);
  assert.throws(() => parseExposition('m{a="1",b=2} 1\n'), /bad labels/);
});

test('sums matching series, and tells an absent series from a zero one', () => {
  const samples = parseExposition(`${text}zero{x="y"} 0\n`);
  assert.equal(sumSamples(samples, 'otelcol_receiver_accepted_spans'), 9);
  assert.equal(sumSamples(samples, 'otelcol_receiver_accepted_spans', { transport: 'http' }), 6);
  assert.equal(sumSamples(samples, 'otelcol_receiver_accepted_spans', { transport: 'udp' }), undefined);
  assert.equal(sumSamples(samples, 'zero'), 0);
});

test('the generated prometheus.yml scrapes every target at the asked interval, timeout included', () => {
  const cfg = prometheusConfig({
    scrapeTargets: ['127.0.0.1:1', '127.0.0.1:2'],
    scrapeIntervalMs: 250,
    jobName: 'j',
  });
  assert.deepEqual(cfg, {
    global: { scrape_interval: '250ms', scrape_timeout: '250ms', evaluation_interval: '250ms' },
    scrape_configs: [
      {
        job_name: 'j',
        metrics_path: '/metrics',
        static_configs: [{ targets: ['127.0.0.1:1', '127.0.0.1:2'] }],
      },
    ],
  });
});
