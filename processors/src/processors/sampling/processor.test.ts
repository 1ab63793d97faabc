import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BackpressureError, PermanentError } from '../../component/errors.ts';
import { idToHex } from '../../otlp/ids.ts';
import type { TracesRequest } from '../../otlp/model.ts';
import { metricValue, settings } from '../../testing/components.ts';
import { attr, span, traces } from '../../testing/genai-spans.ts';
import { parseCostConfig } from '../cost/config.ts';
import { CostProcessor } from '../cost/processor.ts';
import { SamplingProcessor } from './processor.ts';
import { ConsistentSampler } from './randomness.ts';
import {
  config,
  downstream,
  harness,
  ids,
  keptTraces,
  only,
  ROOT_ID,
  spansOf,
  trace,
  withEvent,
} from './testkit.ts';

const T1 = '11111111111111111111111111111111';
const T2 = '22222222222222222222222222222222';
const T3 = '33333333333333333333333333333333';
const T4 = '44444444444444444444444444444444';
const T5 = '55555555555555555555555555555555';
const T6 = '66666666666666666666666666666666';
const T7 = '77777777777777777777777777777777';
const NONE = { probabilistic: { sampling_percentage: 0 } };
const ALL = { probabilistic: { sampling_percentage: 100 } };

const traceCount = (set: ReturnType<typeof settings>, decision: string, reason: string) =>
  metricValue(set.telemetry, 'llmobs_sampling_traces_total', { decision, reason });

describe('llm_sampling: policies', () => {
  it('keeps every trace with an error or a low evaluation score and samples out the rest at 0 %', async () => {
    const h = harness({ policies: NONE });
    await h.p.consume(trace(T1, { status: 2 })); // ERROR status on the LLM call
    await h.p.consume(trace(T2, { attrs: { 'error.type': 'rate_limit_exceeded' } }));
    await h.p.consume(
      withEvent(trace(T3), 'gen_ai.evaluation.result', {
        'gen_ai.evaluation.name': 'relevance',
        'gen_ai.evaluation.score.value': 0.2,
      }),
    );
    await h.p.consume(
      withEvent(trace(T4), 'gen_ai.evaluation.result', {
        'gen_ai.evaluation.name': 'correctness',
        'gen_ai.evaluation.score.label': 'incorrect',
      }),
    );
    await h.p.consume(trace(T5, { attrs: { 'llmobs.eval.verdict': false } }));
    await h.p.consume(
      withEvent(trace(T6), 'gen_ai.evaluation.result', {
        'gen_ai.evaluation.name': 'relevance',
        'gen_ai.evaluation.score.value': 0.9,
        'gen_ai.evaluation.score.label': 'relevant',
      }),
    );
    await h.p.consume(trace(T7));
    await h.after(10_000);

    assert.deepEqual(keptTraces(h.next.received).sort(), [T1, T2, T3, T4, T5]);
    assert.equal(spansOf(h.next.received).length, 10, 'both spans of every kept trace');
    assert.equal(await traceCount(h.set, 'keep', 'errors'), 2);
    assert.equal(await traceCount(h.set, 'keep', 'low_score'), 3);
    assert.equal(await traceCount(h.set, 'drop', 'probabilistic'), 2);
    assert.equal(await metricValue(h.set.telemetry, 'llmobs_sampling_spans_total', { decision: 'drop' }), 4);
    assert.equal(
      await metricValue(h.set.telemetry, 'llmobs_dropped_items_total', {}),
      0,
      'sampled out is no loss',
    );
  });

  it('gives the reason of the first policy that matches, in order', async () => {
    const h = harness({ policies: NONE });
    // An error and a failed evaluation on the same trace: errors comes first.
    await h.p.consume(trace(T1, { status: 2, attrs: { 'llmobs.eval.verdict': false } }));
    await h.after(10_000);
    assert.equal(await traceCount(h.set, 'keep', 'errors'), 1);
    assert.equal(await traceCount(h.set, 'keep', 'low_score'), 0);
  });

  it('reads error.type on spans only: on an evaluation event it means the evaluator failed', async () => {
    const h = harness({ policies: NONE });
    await h.p.consume(
      withEvent(trace(T1), 'gen_ai.evaluation.result', {
        'gen_ai.evaluation.name': 'relevance',
        'error.type': 'timeout',
      }),
    );
    await h.after(10_000);
    assert.deepEqual(keptTraces(h.next.received), []);
  });

  it('keeps guardrail interventions in the semconv, OpenInference, Guardrails AI and finish-reason spellings', async () => {
    const h = harness({ policies: only('guardrail') });
    await h.p.consume(
      trace(T1, {
        attrs: {
          'gen_ai.operation.name': 'apply_guardrail',
          'gen_ai.guardrail.result.type': 'action',
          'gen_ai.guardrail.result.value': 'GUARDRAIL_INTERVENED',
        },
      }),
    );
    await h.p.consume(
      withEvent(trace(T2), 'gen_ai.guardrail.result', {
        'gen_ai.guardrail.result.type': 'tripwire_triggered',
        'gen_ai.guardrail.result.value': 'true',
      }),
    );
    await h.p.consume(
      trace(T3, { attrs: { 'openinference.span.kind': 'GUARDRAIL', 'output.value': 'fail' } }),
    );
    await h.p.consume(trace(T4, { attrs: { validator_name: 'toxic-language', 'output.value': 'fail' } }));
    await h.p.consume(trace(T5, { attrs: { 'gen_ai.response.finish_reasons': 'content_filter' } }));
    // Not interventions: a guardrail that let the content through, a normal finish.
    await h.p.consume(
      trace(T6, {
        attrs: { 'gen_ai.guardrail.result.type': 'action', 'gen_ai.guardrail.result.value': 'NONE' },
      }),
    );
    await h.p.consume(
      trace(T7, { attrs: { 'openinference.span.kind': 'GUARDRAIL', 'output.value': 'pass' } }),
    );
    await h.after(10_000);
    assert.deepEqual(keptTraces(h.next.received).sort(), [T1, T2, T3, T4, T5]);
    assert.equal(await traceCount(h.set, 'keep', 'guardrail'), 5);
  });

  it('keeps failed validations, by llmobs.validation.passed or configured keys and values', async () => {
    const h = harness({
      policies: only('validation', {
        attributes: [
          { key: 'llmobs.validation.passed', values: [false] },
          { key: 'schema.valid', values: ['no', 0] },
        ],
      }),
    });
    await h.p.consume(trace(T1, { attrs: { 'llmobs.validation.passed': false } }));
    await h.p.consume(trace(T2, { attrs: { 'schema.valid': 'no' } }));
    await h.p.consume(trace(T3, { attrs: { 'schema.valid': 0 } }));
    await h.p.consume(trace(T4, { attrs: { 'llmobs.validation.passed': true, 'schema.valid': 'yes' } }));
    await h.after(10_000);
    assert.deepEqual(keptTraces(h.next.received).sort(), [T1, T2, T3]);
    assert.equal(await traceCount(h.set, 'keep', 'validation'), 3);
  });

  it('keeps slow traces: one span over the threshold, or spans that together cover it', async () => {
    const h = harness({ policies: only('latency', { threshold: '5s' }) });
    const start = Date.UTC(2026, 5, 1);
    await h.p.consume(trace(T1, { durationMs: 5000 }));
    // Two 3 s spans, the second starting 2.5 s after the first ended: the trace spans 8.5 s.
    await h.p.consume(
      traces([
        { traceId: T2, startMs: start, durationMs: 3000, parentSpanId: ROOT_ID },
        {
          traceId: T2,
          spanId: '00000000000000cc',
          startMs: start + 5500,
          durationMs: 3000,
          parentSpanId: ROOT_ID,
        },
      ]),
    );
    await h.p.consume(trace(T3, { durationMs: 4999 }));
    await h.after(10_000);
    assert.deepEqual(keptTraces(h.next.received).sort(), [T1, T2]);
  });

  it('keeps expensive traces from the cost llm_cost wrote: per-call amounts summed, or the root roll-up', async () => {
    // The real llm_cost in front: it prices each call and rolls the trace up onto the root.
    const h = harness({ policies: only('cost', { threshold: 0.05 }) });
    const cost = new CostProcessor(
      settings('llm_cost'),
      (() => {
        const c = parseCostConfig({
          builtin_catalogue: false,
          prices: [{ model: 'acme-chat', provider: 'acme', input: 10, output: 40 }],
        });
        assert.ok(!Array.isArray(c));
        return c;
      })(),
      h.p,
    );
    const call = (traceId: string, spanId: string, input: number, output: number) => ({
      traceId,
      spanId,
      parentSpanId: ROOT_ID,
      attrs: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'acme',
        'gen_ai.request.model': 'acme-chat',
        'gen_ai.usage.input_tokens': input,
        'gen_ai.usage.output_tokens': output,
      },
    });
    // T1: three calls of $0.02 each ($0.06 ≥ $0.05); T2: one call of $0.02.
    await cost.consume(
      traces([
        call(T1, '0000000000000001', 1000, 250),
        call(T1, '0000000000000002', 1000, 250),
        call(T1, '0000000000000003', 1000, 250),
        { traceId: T1, spanId: ROOT_ID, name: 'POST /chat' },
      ]),
    );
    await cost.consume(traces([call(T2, '0000000000000001', 1000, 250), { traceId: T2, spanId: ROOT_ID }]));
    // T3: only the root arrives here, carrying the roll-up of calls seen elsewhere.
    await h.p.consume(traces([{ traceId: T3, spanId: ROOT_ID, attrs: { 'llmobs.trace.cost.amount': 0.5 } }]));
    await h.after(10_000);
    assert.deepEqual(keptTraces(h.next.received).sort(), [T1, T3]);
    const root = spansOf(h.next.received).find(
      (s) => idToHex(s.traceId ?? new Uint8Array()) === T1 && !s.parentSpanId,
    );
    assert.ok(root);
    assert.ok(
      Math.abs(Number(attr(root, 'llmobs.trace.cost.amount')) - 0.06) < 1e-9,
      'llm_cost rolled it up',
    );
    assert.equal(await traceCount(h.set, 'keep', 'cost'), 2);
  });

  it('keeps traces with negative user feedback, and does not read a −1…1 feedback score as a quality score', async () => {
    const h = harness({ policies: NONE });
    await h.p.consume(trace(T1, { attrs: { 'llmobs.feedback.score': -1 } }));
    await h.p.consume(trace(T2, { attrs: { 'llmobs.feedback.value': 'thumbs_down' } }));
    // As the feedback receiver writes it: an evaluation named user_feedback scored −1…1.
    const feedback = (score: number, label: string) => ({
      'gen_ai.evaluation.name': 'user_feedback',
      'gen_ai.evaluation.score.value': score,
      'gen_ai.evaluation.score.label': label,
    });
    await h.p.consume(withEvent(trace(T3), 'gen_ai.evaluation.result', feedback(-1, 'thumbs_down')));
    await h.p.consume(withEvent(trace(T4), 'gen_ai.evaluation.result', feedback(0.3, 'thumbs_up')));
    await h.p.consume(
      trace(T5, { attrs: { 'llmobs.feedback.value': 'thumbs_up', 'llmobs.feedback.score': 1 } }),
    );
    await h.after(10_000);
    assert.deepEqual(keptTraces(h.next.received).sort(), [T1, T2, T3]);
    assert.equal(await traceCount(h.set, 'keep', 'feedback'), 3);
    assert.equal(await traceCount(h.set, 'keep', 'low_score'), 0);
  });

  it('a policy switched off keeps nothing, and its evidence falls through to the probabilistic part', async () => {
    const h = harness({ policies: { ...NONE, errors: { enabled: false } } });
    await h.p.consume(trace(T1, { status: 2, attrs: { 'error.type': 'timeout' } }));
    await h.after(10_000);
    assert.deepEqual(keptTraces(h.next.received), []);
    assert.equal(await traceCount(h.set, 'drop', 'probabilistic'), 1);
  });
});

describe('llm_sampling: the probabilistic part is consistent', () => {
  it('keeps 10 % ± 2 of 100,000 normal traces, and a second instance keeps exactly the same ones', async () => {
    const next = ids(42);
    const all: string[] = Array.from({ length: 100_000 }, () => next());
    const run = async (order: readonly string[], perRequest: number) => {
      const h = harness({ max_traces: 200_000, policies: { probabilistic: { sampling_percentage: 10 } } });
      for (let i = 0; i < order.length; i += perRequest) {
        await h.p.consume(traces(order.slice(i, i + perRequest).map((t) => ({ traceId: t }))));
        await h.after(10_000);
      }
      return { kept: new Set(keptTraces(h.next.received)), set: h.set };
    };
    const a = await run(all, 1000);
    // Another instance, the traces arriving in another order and other batches.
    const b = await run([...all].reverse(), 777);

    const share = a.kept.size / all.length;
    assert.ok(share >= 0.08 && share <= 0.12, `kept ${(share * 100).toFixed(2)} %`);
    assert.equal(b.kept.size, a.kept.size);
    for (const t of a.kept) assert.ok(b.kept.has(t), `both instances keep ${t}`);
    assert.equal(await traceCount(a.set, 'keep', 'probabilistic'), a.kept.size);
    assert.equal(await traceCount(a.set, 'drop', 'probabilistic'), all.length - a.kept.size);
    // And it is the W3C rule itself: R (trace id bytes 9..15) ≥ (1 − 0.1) × 2^56.
    const rule = new ConsistentSampler(10);
    for (const t of all.slice(0, 5000))
      assert.equal(a.kept.has(t), rule.keeps(Uint8Array.from(Buffer.from(t, 'hex'))), t);
  });

  it('keeps every error trace whatever the rate, while normal ones follow it', async () => {
    const next = ids(7);
    const h = harness({ max_traces: 200_000, policies: { probabilistic: { sampling_percentage: 10 } } });
    const errors: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const t = next();
      if (i % 10 === 0) errors.push(t);
      await h.p.consume(traces([{ traceId: t, ...(i % 10 === 0 ? { status: 2 } : {}) }]));
    }
    await h.after(10_000);
    const kept = new Set(keptTraces(h.next.received));
    for (const t of errors) assert.ok(kept.has(t), `error trace ${t} kept`);
    const normal = kept.size - errors.length;
    const share = normal / 18_000;
    assert.ok(share >= 0.08 && share <= 0.12, `normal kept ${(share * 100).toFixed(2)} %`);
  });
});

describe('llm_sampling: when a trace is decided', () => {
  it('decides decision_wait after the first span when no root arrives', async () => {
    const h = harness({ policies: ALL });
    const t0 = h.clock.now;
    await h.p.consume(traces([{ traceId: T1, parentSpanId: ROOT_ID }]));
    await h.at(t0 + 9_999);
    assert.equal(h.next.received.length, 0);
    assert.equal(h.p.bufferedTraces, 1);
    await h.at(t0 + 10_000);
    assert.deepEqual(keptTraces(h.next.received), [T1]);
    assert.equal(h.p.bufferedTraces, 0);
  });

  it('decides root_grace after the root arrives, with the spans that came until then', async () => {
    const h = harness({ policies: ALL });
    const t0 = h.clock.now;
    await h.p.consume(traces([{ traceId: T1, parentSpanId: ROOT_ID }]));
    h.clock.now = t0 + 2_000;
    await h.p.consume(traces([{ traceId: T1, spanId: ROOT_ID, name: 'root' }]));
    h.clock.now = t0 + 2_500;
    await h.p.consume(traces([{ traceId: T1, spanId: '00000000000000dd', parentSpanId: ROOT_ID }]));
    await h.at(t0 + 2_999);
    assert.equal(h.next.received.length, 0);
    await h.at(t0 + 3_000);
    assert.equal(spansOf(h.next.received).length, 3);
  });

  it('holds a trace past root_grace for the verdicts llm_evaluation announced, then keeps it on a fail', async () => {
    const h = harness({ policies: NONE });
    const t0 = h.clock.now;
    await h.p.consume(trace(T1, { attrs: { 'llmobs.eval.pending': 1 } }));
    await h.at(t0 + 5_000);
    assert.equal(h.p.bufferedTraces, 1, 'waiting for the verdict, not decided at root_grace');
    h.clock.now = t0 + 7_000;
    await h.p.consume(
      traces([
        {
          traceId: T1,
          parentSpanId: '00000000000000bb',
          name: 'evaluate answered',
          attrs: { 'llmobs.eval.verdict': false },
        },
      ]),
    );
    await h.at(t0 + 7_000);
    assert.deepEqual(keptTraces(h.next.received), [T1], 'the failed verdict kept the trace');
  });

  it('gives up waiting for a verdict that never comes at decision_wait', async () => {
    const h = harness({ policies: NONE });
    const t0 = h.clock.now;
    await h.p.consume(trace(T1, { attrs: { 'llmobs.eval.pending': 2 } }));
    await h.at(t0 + 9_999);
    assert.equal(h.p.bufferedTraces, 1);
    await h.at(t0 + 10_000);
    assert.equal(h.p.bufferedTraces, 0, 'decided (and sampled out) at decision_wait');
  });

  it('with local_root, a span whose parent is remote counts as the root', async () => {
    const h = harness({ local_root: true, policies: ALL });
    const req = traces([{ traceId: T1, parentSpanId: 'ffffffffffffffff' }]);
    const s = req.resourceSpans[0]?.scopeSpans[0]?.spans[0];
    assert.ok(s);
    s.flags = 0x301; // sampled; parent is-remote known and set
    await h.p.consume(req);
    await h.after(1_000);
    assert.deepEqual(keptTraces(h.next.received), [T1]);
  });

  it('forwards a kept trace whole, regrouped under its resources and scopes, one request per tick', async () => {
    const h = harness({ policies: ALL });
    // T1's spans come from two services in two requests; T2's from the first service.
    await h.p.consume(
      traces(
        [
          { traceId: T1, parentSpanId: ROOT_ID, spanId: '0000000000000001' },
          { traceId: T2, spanId: ROOT_ID },
        ],
        { 'service.name': 'chat-api' },
      ),
    );
    await h.p.consume(traces([{ traceId: T1, spanId: ROOT_ID }], { 'service.name': 'gateway' }));
    await h.after(1_000);
    assert.equal(h.next.received.length, 1, 'one request for both traces');
    const req = h.next.received[0] as TracesRequest;
    const services = req.resourceSpans.map((rs) => ({
      service: rs.resource?.attributes.find((a) => a.key === 'service.name')?.value?.stringValue,
      scopes: rs.scopeSpans.map((ss) => ({
        scope: ss.scope?.name,
        spans: ss.spans.map(
          (s) =>
            `${idToHex(s.traceId ?? new Uint8Array()).slice(0, 2)}/${idToHex(s.spanId ?? new Uint8Array())}`,
        ),
      })),
    }));
    // T2's root came first, so T2 was decided first; T1's child shares T2's resource and scope.
    assert.deepEqual(services, [
      {
        service: 'chat-api',
        scopes: [{ scope: 'test', spans: [`22/${ROOT_ID}`, '11/0000000000000001'] }],
      },
      { service: 'gateway', scopes: [{ scope: 'test', spans: [`11/${ROOT_ID}`] }] },
    ]);
  });
});

describe('llm_sampling: late spans and the decision cache', () => {
  it('late spans follow their trace’s decision: forwarded when kept, sampled out when dropped', async () => {
    const h = harness({ policies: NONE });
    await h.p.consume(trace(T1, { status: 2 }));
    await h.p.consume(trace(T2));
    await h.after(10_000);
    assert.deepEqual(keptTraces(h.next.received), [T1]);
    // A straggler of each, from a downstream service that exported late.
    await h.p.consume(
      traces([
        { traceId: T1, spanId: '00000000000000ee', parentSpanId: ROOT_ID },
        { traceId: T2, spanId: '00000000000000ee', parentSpanId: ROOT_ID },
      ]),
    );
    assert.equal(h.p.bufferedTraces, 0, 'late spans are not buffered as new traces');
    await h.after(100);
    assert.equal(h.next.received.length, 2);
    assert.deepEqual(keptTraces(h.next.received.slice(1)), [T1]);
    const late = (d: string) =>
      metricValue(h.set.telemetry, 'llmobs_sampling_late_spans_total', { decision: d });
    assert.equal(await late('keep'), 1);
    assert.equal(await late('drop'), 1);
    assert.equal(
      await metricValue(h.set.telemetry, 'llmobs_sampling_spans_total', {
        decision: 'keep',
        reason: 'errors',
      }),
      3,
    );
  });

  it('a late span whose decision was forgotten is counted, then decided alone', async () => {
    const h = harness({ decision_cache_size: 2, policies: ALL });
    for (const t of [T1, T2, T3]) await h.p.consume(traces([{ traceId: t }]));
    await h.after(10_000);
    // The cache holds T2 and T3; T1 was forgotten.
    await h.p.consume(traces([{ traceId: T1, spanId: '00000000000000ee', parentSpanId: ROOT_ID }]));
    assert.equal(h.p.bufferedTraces, 1, 'decided again, alone');
    assert.equal(
      await metricValue(h.set.telemetry, 'llmobs_sampling_late_spans_total', { decision: 'forgotten' }),
      1,
    );
    await h.after(10_000);
    assert.equal(spansOf(h.next.received).length, 4);
    // A new trace is not mistaken for a forgotten one.
    await h.p.consume(traces([{ traceId: T4 }]));
    assert.equal(
      await metricValue(h.set.telemetry, 'llmobs_sampling_late_spans_total', { decision: 'forgotten' }),
      1,
    );
  });
});

describe('llm_sampling: bounded memory', () => {
  it('when max_traces is reached, decides the oldest trace early on what it has, and counts it', async () => {
    const h = harness({ max_traces: 2, policies: NONE });
    await h.p.consume(traces([{ traceId: T1, status: 2, parentSpanId: ROOT_ID }]));
    await h.p.consume(traces([{ traceId: T2, parentSpanId: ROOT_ID }]));
    await h.p.consume(traces([{ traceId: T3, parentSpanId: ROOT_ID }])); // evicts T1
    await h.p.consume(traces([{ traceId: T4, parentSpanId: ROOT_ID }])); // evicts T2
    assert.equal(h.p.bufferedTraces, 2);
    assert.equal(
      await metricValue(h.set.telemetry, 'llmobs_sampling_evicted_traces_total', { reason: 'capacity' }),
      2,
    );
    await h.after(1); // forwards what was decided
    assert.deepEqual(
      keptTraces(h.next.received),
      [T1],
      'the evicted error trace was kept, not dropped blindly',
    );
    assert.equal(await traceCount(h.set, 'keep', 'errors'), 1);
    assert.equal(await traceCount(h.set, 'drop', 'probabilistic'), 1);
    // T1's late root follows the early decision.
    await h.p.consume(traces([{ traceId: T1, spanId: ROOT_ID }]));
    await h.after(1);
    assert.equal(spansOf(h.next.received).length, 2);
  });

  it('when max_buffered_bytes is reached, decides the oldest traces early (reason memory)', async () => {
    const h = harness({ max_buffered_bytes: '1MiB', policies: ALL });
    const big = 'x'.repeat(100_000);
    const tid = ids(3);
    for (let i = 0; i < 15; i++)
      await h.p.consume(
        traces([{ traceId: tid(), parentSpanId: ROOT_ID, attrs: { 'gen_ai.input.messages': big } }]),
      );
    const evicted = await metricValue(h.set.telemetry, 'llmobs_sampling_evicted_traces_total', {
      reason: 'memory',
    });
    assert.ok(evicted >= 4 && evicted <= 6, `evicted ${evicted}`);
    assert.ok(h.p.bufferedBytes <= 1024 * 1024, `${h.p.bufferedBytes} bytes held`);
    await h.after(1);
    assert.equal(spansOf(h.next.received).length, evicted);
  });

  it('refuses new data while kept traces that next will not take fill the byte budget', async () => {
    const h = harness({ max_buffered_bytes: '1MiB', policies: ALL });
    h.next.refuse = Number.POSITIVE_INFINITY;
    const big = 'x'.repeat(300_000);
    const tid = ids(5);
    for (let i = 0; i < 4; i++) await h.p.consume(traces([{ traceId: tid(), attrs: { big } }]));
    await h.after(1_000); // decided and kept, but next refuses
    await assert.rejects(h.p.consume(traces([{ traceId: tid() }])), BackpressureError);
    h.next.refuse = 0;
    await h.after(10_000);
    assert.equal(spansOf(h.next.received).length, 4, 'nothing was lost');
    await h.p.consume(traces([{ traceId: tid() }]));
  });
});

describe('llm_sampling: never loses data silently', () => {
  it('retries a batch next refuses, with backoff, and delivers it whole', async () => {
    const h = harness({ policies: ALL });
    h.next.refuse = 2;
    await h.p.consume(trace(T1));
    await h.after(1_000); // decided; first attempt refused
    assert.equal(h.next.calls, 1);
    await h.after(50); // inside the backoff: no attempt
    assert.equal(h.next.calls, 1);
    await h.after(100); // second attempt, refused
    await h.after(250); // third attempt, accepted
    assert.equal(h.next.calls, 3);
    assert.equal(spansOf(h.next.received).length, 2);
    assert.equal(await metricValue(h.set.telemetry, 'llmobs_sampling_forward_retries_total', {}), 2);
    assert.equal(await metricValue(h.set.telemetry, 'llmobs_dropped_items_total', {}), 0);
  });

  it('on shutdown, decides what is buffered and flushes it, riding out refusals until the deadline', async () => {
    const h = harness({ policies: ALL });
    await h.p.consume(trace(T1));
    await h.p.consume(traces([{ traceId: T2, parentSpanId: ROOT_ID }]));
    h.next.refuse = 2;
    await h.p.shutdown(Date.now() + 10_000);
    assert.deepEqual(keptTraces(h.next.received).sort(), [T1, T2]);
    assert.equal(await metricValue(h.set.telemetry, 'llmobs_dropped_items_total', {}), 0);
    await assert.rejects(h.p.consume(trace(T3)), BackpressureError);
  });

  it('counts kept spans as dropped only when next still refuses at the shutdown deadline', async () => {
    const h = harness({ policies: ALL });
    h.next.refuse = Number.POSITIVE_INFINITY;
    await h.p.consume(trace(T1));
    await h.after(1_000);
    await h.after(10_000);
    assert.ok(h.next.calls >= 2, 'retried while running');
    assert.equal(
      await metricValue(h.set.telemetry, 'llmobs_dropped_items_total', {}),
      0,
      'no loss while running',
    );
    await h.p.shutdown(Date.now() + 100);
    assert.equal(
      await metricValue(h.set.telemetry, 'llmobs_dropped_items_total', {
        component: 'llm_sampling',
        signal: 'traces',
        reason: 'queue_full',
      }),
      2,
    );
  });

  it('an error retrying cannot fix is counted as dropped at once', async () => {
    const h = harness({ policies: ALL });
    h.next.fail = new PermanentError('no');
    await h.p.consume(trace(T1));
    await h.after(1_000);
    assert.equal(
      await metricValue(h.set.telemetry, 'llmobs_dropped_items_total', { reason: 'permanent_error' }),
      2,
    );
  });

  it('forwards spans without a usable trace id as they are', async () => {
    const h = harness({ policies: NONE });
    const req = traces([{ traceId: T1 }]);
    const s = span({ traceId: '00000000000000000000000000000000' });
    req.resourceSpans[0]?.scopeSpans[0]?.spans.push(s);
    await h.p.consume(req);
    await h.after(1);
    assert.equal(spansOf(h.next.received).length, 1);
    assert.equal(
      await metricValue(h.set.telemetry, 'llmobs_sampling_spans_total', {
        decision: 'keep',
        reason: 'no_trace_id',
      }),
      1,
    );
  });

  it('runs on its own timer once started, and the timer stops with shutdown', async () => {
    const next = downstream();
    const p = new SamplingProcessor(
      settings('llm_sampling'),
      config({ decision_wait: '50ms', root_grace: '10ms', policies: ALL }),
      next,
    );
    await p.start();
    await p.consume(trace(T1));
    const until = Date.now() + 5_000;
    while (next.received.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(keptTraces(next.received), [T1]);
    await p.shutdown(Date.now() + 1_000);
  });
});
