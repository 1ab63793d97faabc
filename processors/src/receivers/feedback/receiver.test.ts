import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TracesRequest } from '../../otlp/model.ts';
import { settings, sink } from '../../testing/components.ts';
import { attr, firstSpans } from '../../testing/genai-spans.ts';
import { parseFeedback } from './feedback.ts';
import { FeedbackReceiver } from './receiver.ts';

describe('parseFeedback', () => {
  it('names the field that is wrong', () => {
    const bad = (o: unknown) => parseFeedback(o, 'feedback', 0) as string;
    assert.equal(bad({ value: 'thumbs_up' }), 'feedback.trace_id: must be 32 hex digits, not all zero');
    assert.equal(
      bad({ trace_id: '0'.repeat(32), value: 'thumbs_up' }),
      'feedback.trace_id: must be 32 hex digits, not all zero',
    );
    assert.equal(
      bad({ trace_id: 'a'.repeat(32), value: 'meh' }),
      'feedback.value: must be "thumbs_up" or "thumbs_down" (or give a score)',
    );
    assert.equal(
      bad({ trace_id: 'a'.repeat(32), score: 3 }),
      'feedback.score: must be a number from -1 to 1',
    );
    assert.equal(
      bad({ trace_id: 'a'.repeat(32), span_id: 'xyz', value: 'thumbs_up' }),
      'feedback.span_id: must be 16 hex digits, not all zero',
    );
  });
  it('derives the value from a score and the score from a value', () => {
    const f = parseFeedback({ trace_id: 'A'.repeat(32), score: -0.5 }, 'f', 0);
    assert.ok(typeof f === 'object');
    assert.equal(f.value, 'thumbs_down');
    assert.equal(f.traceId, 'a'.repeat(32));
    const g = parseFeedback({ trace_id: 'b'.repeat(32), value: 'thumbs_up' }, 'f', 0);
    assert.ok(typeof g === 'object');
    assert.equal(g.score, 1);
  });
});

describe('llm_feedback receiver', () => {
  const traces = sink<'traces'>();
  let refuse = false;
  const consumer = {
    async consume(d: TracesRequest) {
      if (refuse) throw new Error('queue full');
      await traces.consume(d);
    },
  };
  const r = new FeedbackReceiver(
    settings('llm_feedback'),
    { host: '127.0.0.1', port: 0, path: '/v1/feedback', maxItems: 10 },
    consumer,
  );
  let url = '';
  before(async () => {
    await r.start();
    url = `http://127.0.0.1:${r.port}/v1/feedback`;
  });
  after(() => r.shutdown(Date.now() + 1000));
  const post = (body: string) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  it('turns thumbs down into a feedback span under the answered span, with the evaluation event', async () => {
    const res = await post(
      JSON.stringify({
        trace_id: 'c'.repeat(32),
        span_id: 'd'.repeat(16),
        value: 'thumbs_down',
        comment: 'wrong city',
        service: 'chat',
      }),
    );
    assert.equal(res.status, 202);
    const span = firstSpans(traces.received.at(-1) as TracesRequest)[0];
    assert.ok(span);
    assert.equal(Buffer.from(span.traceId ?? []).toString('hex'), 'c'.repeat(32));
    assert.equal(Buffer.from(span.parentSpanId ?? []).toString('hex'), 'd'.repeat(16));
    assert.equal(attr(span, 'llmobs.feedback.value'), 'thumbs_down');
    assert.equal(attr(span, 'llmobs.feedback.score'), -1);
    assert.equal(span.events[0]?.name, 'gen_ai.evaluation.result');
    assert.equal(
      traces.received.at(-1)?.resourceSpans[0]?.resource?.attributes[0]?.value?.stringValue,
      'chat',
    );
  });

  it('answers 400 naming the field, for bad items and bad JSON', async () => {
    const res = await post(
      JSON.stringify([{ trace_id: 'e'.repeat(32), value: 'thumbs_up' }, { trace_id: 'nope' }]),
    );
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { error: '[1].trace_id: must be 32 hex digits, not all zero' });
    assert.equal((await post('{not json')).status, 400);
  });

  it('pushes back with 503 and Retry-After when the pipeline refuses', async () => {
    refuse = true;
    try {
      const res = await post(JSON.stringify({ trace_id: 'f'.repeat(32), value: 'thumbs_up' }));
      assert.equal(res.status, 503);
      assert.ok(res.headers.get('retry-after'));
    } finally {
      refuse = false;
    }
  });
});
