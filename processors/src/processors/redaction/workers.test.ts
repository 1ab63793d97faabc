import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BackpressureError, PermanentError } from '../../component/errors.ts';
import { SIGNALS } from '../../otlp/schema.ts';
import { buildCorpus } from './corpus.ts';
import { RedactionProcessor } from './processor.ts';
import { compile, settings, sink, wire } from './testkit.ts';

const FIXTURE = (behaviour: 'crash' | 'hang') => new URL(`./worker-${behaviour}.fixture.ts`, import.meta.url);

function keyFile(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'llmobs-workers-')), 'key');
  writeFileSync(path, 'workers-test-key-0123456789abcdef');
  return path;
}

/** The llmobs series of a /metrics text, without the self-telemetry that differs between processes. */
function redactionSeries(metrics: string): string[] {
  return metrics
    .split('\n')
    .filter((l) => l.startsWith('llmobs_redaction'))
    .sort();
}

describe('workers', () => {
  test('redacts on worker threads exactly as inline: same output, same counts, every signal', async () => {
    const block = {
      custom_patterns: [{ name: 'employee_id', regex: 'EMP-\\d{6}' }],
      actions: { email: 'hash', employee_id: 'drop' },
      hmac: { key_file: keyFile(), key_id: 'kw' },
    };
    for (const seed of [1, 7]) {
      const inline = buildCorpus(seed, 4);
      const pooled = buildCorpus(seed, 4);
      for (const signal of SIGNALS) {
        const a = { set: settings(), next: sink<typeof signal>() };
        const b = { set: settings(), next: sink<typeof signal>() };
        await new RedactionProcessor(a.set, compile(block), signal, a.next).consume(inline[signal]);
        const p = new RedactionProcessor(b.set, compile({ ...block, workers: 2 }), signal, b.next);
        await p.start();
        try {
          await p.consume(pooled[signal]);
        } finally {
          await p.shutdown();
        }
        const [outA] = a.next.received;
        const [outB] = b.next.received;
        assert.ok(outA && outB, `${signal}: both passed the request on`);
        assert.notEqual(
          wire(signal, outB),
          wire(signal, pooled[signal]),
          `${signal}: the worker's copy is passed on`,
        );
        assert.equal(wire(signal, outB), wire(signal, outA), `${signal} (seed ${seed})`);
        const ma = redactionSeries(await a.set.telemetry.registry.metrics());
        const mb = redactionSeries(await b.set.telemetry.registry.metrics());
        assert.ok(ma.length > 0, `${signal}: something was counted`);
        assert.deepEqual(mb, ma, `${signal} counts (seed ${seed})`);
      }
    }
  });

  test('requests sent at once are each redacted and each passed on once', async () => {
    const seeds = [1, 2, 3, 4, 5, 6];
    const inline = await Promise.all(
      seeds.map(async (seed) => {
        const req = buildCorpus(seed, 2).traces;
        await new RedactionProcessor(settings(), compile(), 'traces', sink()).consume(req);
        return wire('traces', req);
      }),
    );
    const next = sink<'traces'>();
    const p = new RedactionProcessor(settings(), compile({ workers: 2 }), 'traces', next);
    try {
      await Promise.all(seeds.map((seed) => p.consume(buildCorpus(seed, 2).traces)));
    } finally {
      await p.shutdown();
    }
    assert.deepEqual(next.received.map((r) => wire('traces', r)).sort(), [...inline].sort());
  });

  test('a crashed worker: its request is refused and counted, never passed on; the next one gets a new worker', async () => {
    const set = settings();
    const next = sink<'traces'>();
    const cfg = compile({ workers: 1 });
    const p = new RedactionProcessor(set, cfg, 'traces', next, FIXTURE('crash'));
    try {
      await assert.rejects(p.consume(buildCorpus(1, 1).traces), PermanentError);
      await assert.rejects(p.consume(buildCorpus(2, 1).traces), PermanentError);
    } finally {
      await p.shutdown();
    }
    assert.equal(next.received.length, 0);
    assert.match(
      await set.telemetry.registry.metrics(),
      /llmobs_redaction_failclosed_total\{processor="llm_redaction",reason="worker_crash"\} 2/,
    );
  });

  test('a worker that does not answer within worker_timeout: the request is refused and counted', async () => {
    const set = settings();
    const next = sink<'traces'>();
    const cfg = compile({ workers: 1, worker_timeout: '100ms' });
    const p = new RedactionProcessor(set, cfg, 'traces', next, FIXTURE('hang'));
    try {
      await assert.rejects(p.consume(buildCorpus(1, 1).traces), PermanentError);
    } finally {
      await p.shutdown();
    }
    assert.equal(next.received.length, 0);
    assert.match(
      await set.telemetry.registry.metrics(),
      /llmobs_redaction_failclosed_total\{processor="llm_redaction",reason="worker_timeout"\} 1/,
    );
  });

  test('a full pool answers with back-pressure; shutdown refuses what waits (retryable), passing nothing on', async () => {
    const next = sink<'traces'>();
    const cfg = compile({ workers: 1, worker_timeout: '1m' });
    const p = new RedactionProcessor(settings(), cfg, 'traces', next, FIXTURE('hang'));
    await p.start();
    // One running and four waiting fill one worker's share; the sixth is refused at once.
    const held = [1, 2, 3, 4, 5].map((seed) => p.consume(buildCorpus(seed, 1).traces));
    const outcomes = held.map((h) =>
      h.then(
        () => 'passed',
        (err: unknown) => err,
      ),
    );
    await assert.rejects(p.consume(buildCorpus(6, 1).traces), { name: 'BackpressureError', message: /busy/ });
    await p.shutdown();
    for (const o of await Promise.all(outcomes))
      assert.ok(o instanceof BackpressureError && /shutting down/.test(o.message), String(o));
    assert.equal(next.received.length, 0);
    await assert.rejects(p.consume(buildCorpus(7, 1).traces), BackpressureError);
  });

  test('start fails when a worker cannot compile the rules (its key file is gone)', async () => {
    const key = keyFile();
    const cfg = compile({ action: 'hash', hmac: { key_file: key }, workers: 1 });
    rmSync(key);
    const p = new RedactionProcessor(settings(), cfg, 'traces', sink());
    try {
      await assert.rejects(p.start(), /cannot read/);
    } finally {
      await p.shutdown();
    }
  });
});
