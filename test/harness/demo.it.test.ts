import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { SAMPLE_APPS, SENT_PII } from './demo/apps.ts';
import { parseExposition, sumSamples } from './prometheus.ts';

const run = promisify(execFile);
const DEMO = join(import.meta.dirname, 'demo.ts');

/** The summary block: from its "summary" line to the blank line after it. */
function summaryOf(stdout: string): string[] {
  const lines = stdout.split('\n');
  const start = lines.indexOf('summary');
  assert.ok(start >= 0, `a summary is printed:\n${stdout}`);
  const end = lines.indexOf('', start);
  return lines.slice(start, end < 0 ? undefined : end);
}

/** The lines of one labelled block of the summary: its first line and the continuation lines under it. */
function block(summary: readonly string[], label: string): string[] {
  const start = summary.findIndex((l) => l.startsWith(`  ${label} `));
  assert.ok(start >= 0, `the summary has "${label}":\n${summary.join('\n')}`);
  const out = [summary[start]?.slice(22) ?? ''];
  for (const l of summary.slice(start + 1)) {
    if (!l.startsWith(' '.repeat(22))) break;
    out.push(l.slice(22));
  }
  return out;
}

function checkSummary(stdout: string): void {
  const summary = summaryOf(stdout);
  const all = summary.join('\n');

  // Pods instrumented: exactly the sample apps' pods, injected by the webhook, counted by the operator.
  const pods = block(summary, 'pods instrumented');
  const n = SAMPLE_APPS.length;
  assert.match(pods[0] ?? '', new RegExp(`^${n} of ${n} selected .*status\\.instrumentedPods=${n}\\)$`));
  assert.equal(pods.length, 1 + n, all);
  for (const app of SAMPLE_APPS) {
    const line = pods.find((l) => l.startsWith(`${app.name}-`));
    assert.ok(line, `pod of ${app.name} listed:\n${all}`);
    assert.match(line, new RegExp(`\\s${app.runtime}\\s+injected\\s+Running on demo-node$`));
  }

  // Spans from both apps reached Jaeger: the RAG app's embeddings and chat calls, the chat app's chats.
  const spans = block(summary, 'spans in Jaeger');
  for (const app of SAMPLE_APPS) {
    const m = new RegExp(`^${app.name}\\s+(\\d+) \\((.*)\\)$`).exec(
      spans.find((l) => l.startsWith(app.name)) ?? '',
    );
    assert.ok(m, `a spans line for ${app.name}:\n${all}`);
    assert.ok(Number(m[1]) >= app.expectedSpans, `${app.name}: ${m[1]} spans`);
    assert.match(m[2] ?? '', /\bchat [1-9]/);
    if (app.runtime === 'python') assert.match(m[2] ?? '', /\bembeddings [1-9]/);
  }

  // Redacted by type, and nothing raw left in Jaeger.
  const pii = block(summary, 'PII redacted');
  const counts = Object.fromEntries(
    [...(pii[0] ?? '').matchAll(/([a-z_]+) (\d+)/g)].map((m) => [m[1] ?? '', Number(m[2])]),
  );
  assert.ok((counts.email ?? 0) > 0, `emails redacted: ${pii[0]}`);
  assert.ok((counts.credit_card ?? 0) > 0, `card numbers redacted: ${pii[0]}`);
  assert.match(
    pii[1] ?? '',
    /^raw PII in Jaeger: none \(4 emails and card numbers sent, \d+ spans searched\)$/,
  );
  assert.match(pii[2] ?? '', /^a prompt as stored: .*<EMAIL>.*<CREDIT_CARD>/);
  const raw = [...SENT_PII.email, ...SENT_PII.credit_card];
  for (const v of raw) assert.ok(!all.includes(v), `the summary shows no raw ${v}`);

  // A cost per model, in USD, from the built-in catalogue, agreeing with the derived metric.
  const cost = block(summary, 'cost by model');
  for (const model of ['gpt-4o-mini', 'text-embedding-3-small']) {
    const m = new RegExp(
      `^${model}\\s+(\\d+) calls?\\s+([0-9.]+) USD  \\(llmobs_cost_total ([0-9.]+)\\)$`,
    ).exec(cost.find((l) => l.startsWith(`${model} `)) ?? '');
    assert.ok(m, `a cost line for ${model}:\n${all}`);
    assert.ok(Number(m[1]) > 0);
    assert.ok(Number(m[2]) > 0, `${model} costs something: ${m[2]}`);
    assert.equal(m[3], m[2], `${model}: llmobs_cost_total agrees with the spans`);
  }

  const where = block(summary, 'where to look').join('\n');
  for (const what of ['Jaeger', 'processor metrics', 'GenAI metrics', 'operator metrics', 'KUBECONFIG=']) {
    assert.match(where, new RegExp(what), `where to look names ${what}`);
  }
}

/** The URL on the first line of a "where to look" entry. */
function url(stdout: string, name: string): string {
  const m = new RegExp(`${name}\\s+(http://\\S+)`).exec(stdout);
  assert.ok(m?.[1], `${name} URL printed:\n${stdout}`);
  return m[1];
}

test('make demo --once: the chart, the local operator and the sample apps, with a summary that adds up', async () => {
  const { stdout } = await run(process.execPath, [DEMO, '--once'], {
    timeout: 180_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  assert.match(stdout, /helm install llmobs charts\/llmobs/);
  assert.match(
    stdout,
    /llmobs operator \(local\)\s+node operator\/src\/main\.ts as llmobs-system\/llmobs-operator/,
  );
  checkSummary(stdout);
  assert.match(stdout, /\ndemo complete\n$/);
});

test('make demo: stays up with what the summary points at, and stops cleanly on Ctrl-C', async () => {
  const child = spawn(process.execPath, [DEMO], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  try {
    const deadline = Date.now() + 180_000;
    while (!stdout.includes('running; press Ctrl-C to stop')) {
      assert.equal(child.exitCode, null, `the demo exited early:\n${stdout}\n${stderr}`);
      assert.ok(Date.now() < deadline, `the demo came up within 180 s:\n${stdout}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    checkSummary(stdout);

    // What Jaeger stored, read independently: both apps' spans, the prompt redacted, nothing raw.
    const jaeger = url(stdout, 'Jaeger \\(JSON API\\)').replace(/\/api\/traces\?.*$/, '');
    const forms = [
      ...SENT_PII.email,
      ...SENT_PII.credit_card,
      ...SENT_PII.credit_card.map((c) => c.replaceAll(' ', '')),
    ];
    let stored = '';
    for (const app of SAMPLE_APPS) {
      const res = await fetch(`${jaeger}/api/traces?service=${app.name}&limit=100`);
      assert.equal(res.status, 200);
      // Re-encoded: Jaeger's JSON escapes < and > (\u003c), which would hide what the test looks for.
      const body = JSON.stringify(await res.json());
      assert.match(body, /"operationName":"chat gpt-4o-mini"/, `${app.name}'s chat spans are in Jaeger`);
      stored += body;
    }
    assert.match(stored, /<EMAIL>/);
    assert.match(stored, /<CREDIT_CARD>/);
    for (const f of forms) assert.ok(!stored.includes(f), `Jaeger stored no raw ${f}`);

    const scrape = async (name: string) =>
      parseExposition(await fetch(url(stdout, name)).then((r) => r.text())).map((s) => s.name);
    assert.ok((await scrape('processor metrics')).includes('llmobs_redactions_total'));
    assert.ok((await scrape('GenAI metrics')).includes('llmobs_cost_total'));
    assert.ok((await scrape('operator metrics')).includes('llmobs_webhook_injections_total'));

    // The resource's Jaeger exporter takes traces only (signals: [traces]), and Jaeger has no OTLP metrics
    // or logs endpoint: the gateway sent it spans, the derived metrics went to Prometheus, and no export
    // failed (sending Jaeger the derived metrics failed with a 404 at every flush).
    const gateway = parseExposition(await fetch(url(stdout, 'processor metrics')).then((r) => r.text()));
    const sent = (name: string, exporter: string) => sumSamples(gateway, name, { exporter }) ?? 0;
    assert.ok(sent('otelcol_exporter_sent_spans_total', 'otlp_http/jaeger') > 0, 'spans sent to Jaeger');
    assert.ok(
      sent('otelcol_exporter_sent_metric_points_total', 'prometheus') > 0,
      'derived metrics exported',
    );
    assert.equal(
      sumSamples(gateway, 'otelcol_exporter_sent_metric_points_total', { exporter: 'otlp_http/jaeger' }),
      undefined,
    );
    const failed = gateway.filter((s) => s.name.startsWith('otelcol_exporter_send_failed_') && s.value > 0);
    assert.deepEqual(failed, [], 'no export failed');
  } finally {
    child.kill('SIGINT');
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code] = await exited;
  clearTimeout(timer);
  assert.equal(code, 0, `exit code after SIGINT:\n${stderr}`);
  assert.match(stdout, /\nstopping\n$/);
  // Everything it started is gone: Jaeger no longer answers.
  const jaeger = url(stdout, 'Jaeger v2');
  await assert.rejects(fetch(`${jaeger}/api/services`, { signal: AbortSignal.timeout(2_000) }));
});
