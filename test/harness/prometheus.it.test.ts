import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type RunningCollector, startCollector } from './collector.ts';
import {
  PromQueryError,
  parseExposition,
  promtoolCheckConfig,
  promtoolCheckMetrics,
  type RunningPrometheus,
  startPrometheus,
} from './prometheus.ts';

/** Posts `n` spans to the Collector as one OTLP/JSON request, the way any OTLP/HTTP client would. */
async function postSpans(col: RunningCollector, n: number): Promise<void> {
  const spans = Array.from({ length: n }, (_, i) => ({
    traceId: '5b8efff798038103d269b633813fc60c',
    spanId: (0xeee19b7ec3c1b170n + BigInt(i)).toString(16),
    name: `span-${i}`,
    kind: 3,
    startTimeUnixNano: String(BigInt(Date.now()) * 1_000_000n),
    endTimeUnixNano: String(BigInt(Date.now() + 1) * 1_000_000n),
  }));
  const res = await fetch(`${col.otlpHttpEndpoint}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      resourceSpans: [{ resource: {}, scopeSpans: [{ scope: { name: 't' }, spans }] }],
    }),
  });
  assert.equal(res.status, 200, await res.text());
}

describe('Prometheus scraping the Collector’s own metrics', () => {
  let col: RunningCollector;
  let prom: RunningPrometheus;
  before(async () => {
    col = await startCollector();
    prom = await startPrometheus({
      scrapeTargets: [col.metricsTarget],
      scrapeIntervalMs: 500,
      jobName: 'otelcol',
    });
  });
  after(async () => {
    await prom?.stop();
    await col?.stop();
  });

  test('marks the Collector target up', async () => {
    const [up] = await prom.waitForQuery(`up{job="otelcol"}`, (r) => r.length === 1);
    assert.equal(up?.value, 1);
    assert.equal(up?.metric.instance, col.metricsTarget);
    const [target] = await prom.targets();
    assert.equal(target?.health, 'up');
  });

  test('serves the accepted-spans counter after spans were sent', async () => {
    await postSpans(col, 5);
    await col.waitForSpans((s) => s.span.name.startsWith('span-'), 10_000, 5);
    const q = 'otelcol_receiver_accepted_spans{job="otelcol",receiver="otlp",transport="http"}';
    const [series] = await prom.waitForQuery(q, (r) => r[0]?.value === 5);
    assert.equal(series?.metric.__name__, 'otelcol_receiver_accepted_spans');
    // The file sink wrote them too, and the exporter side is counted under its component id.
    const [sent] = await prom.waitForQuery(
      'sum(otelcol_exporter_sent_spans{exporter="file/sink"})',
      (r) => r[0]?.value === 5,
    );
    assert.equal(sent?.value, 5);
  });

  test('rejects malformed PromQL at once with Prometheus’s own error', async () => {
    const started = Date.now();
    await assert.rejects(
      prom.waitForQuery('sum(up', () => true, 10_000),
      (err: unknown) =>
        err instanceof PromQueryError &&
        err.errorType === 'bad_data' &&
        /unclosed|parse error/.test(err.message),
    );
    assert.ok(Date.now() - started < 5_000, 'a query Prometheus refuses is not retried until the timeout');
  });

  test('promtool lints the Collector’s default names: parseable, but counters lack _total', async () => {
    const text = await col.metricsText();
    const res = await promtoolCheckMetrics(text);
    assert.equal(res.exitCode, 3, res.message);
    assert.ok(res.problems.length > 0);
    for (const p of res.problems)
      assert.match(p, /^otelcol_\S+ counter metrics should have "_total" suffix$/);
    assert.ok(
      res.problems.includes('otelcol_receiver_accepted_spans counter metrics should have "_total" suffix'),
    );
  });
});

test('promtool accepts the Collector’s metrics when it serves Prometheus-conventional names', async (t) => {
  const col = await startCollector({ selfMetrics: { level: 'detailed', typeAndUnitSuffixes: true } });
  t.after(() => col.stop());
  await postSpans(col, 2);
  await col.waitForSpans(() => true, 10_000, 2);
  const text = await col.metricsText();
  const names = new Set(parseExposition(text).map((s) => s.name));
  assert.ok(names.has('otelcol_receiver_accepted_spans_total'), [...names].join(' '));
  assert.ok(names.has('otelcol_process_uptime_seconds_total'));
  const res = await promtoolCheckMetrics(text);
  assert.deepEqual(res, { ok: true, exitCode: 0, message: '', problems: [] });
});

test('promtoolCheckMetrics reports text that is not exposition format as a parse error', async () => {
  const res = await promtoolCheckMetrics('# TYPE llmobs_cost counter\nllmobs_cost{model="gpt-4o" 1\n');
  assert.equal(res.ok, false);
  assert.equal(res.exitCode, 1);
  assert.match(res.message, /text format parsing error in line 2/);
});

describe('promtool check config', () => {
  test('rejects a scrape timeout longer than the interval with promtool’s message', async () => {
    const res = await promtoolCheckConfig(`
scrape_configs:
  - job_name: broken
    scrape_interval: 1s
    scrape_timeout: 5s
    static_configs:
      - targets: ["127.0.0.1:9"]
`);
    assert.equal(res.ok, false);
    assert.match(
      res.message,
      /FAILED: .*scrape timeout greater than scrape interval for scrape config with job name "broken"/,
    );
  });

  test('accepts a valid config', async () => {
    const res = await promtoolCheckConfig({
      scrape_configs: [{ job_name: 'ok', static_configs: [{ targets: ['127.0.0.1:9'] }] }],
    });
    assert.equal(res.ok, true, res.message);
    assert.match(res.message, /SUCCESS/);
  });

  test('startPrometheus refuses a URL given where host:port belongs, before starting anything', async () => {
    await assert.rejects(
      startPrometheus({ scrapeTargets: ['http://127.0.0.1:9/metrics'] }),
      /promtool rejected the Prometheus config: .*"http:\/\/127\.0\.0\.1:9\/metrics" is not a valid hostname/,
    );
  });
});
