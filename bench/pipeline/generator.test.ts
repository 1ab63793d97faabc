import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeRequest } from '../../processors/src/otlp/codec.ts';
import type { Span } from '../../processors/src/otlp/model.ts';
import { PLANTED_VALUES } from '../payload.ts';
import { generate } from './generator.ts';
import { traceIdOffsets, withGeneration } from './trace-ids.ts';

const hex = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString('hex');
const spansOf = (body: Uint8Array): Span[] =>
  decodeRequest('traces', body, 'protobuf').resourceSpans.flatMap((rs) =>
    rs.scopeSpans.flatMap((ss) => ss.spans),
  );
const base = { seed: 7, requests: 3, spansPerRequest: 40, sizeMix: 1024, piiShare: 0.3, errorShare: 0.5 };

test('builds the same bodies from the same seed and different ones from another', () => {
  const a = generate(base);
  const b = generate(base);
  const c = generate({ ...base, seed: 8 });
  assert.deepEqual(a.bodies, b.bodies);
  assert.notDeepEqual(a.bodies[0], c.bodies[0]);
});

test('every trace is a root over retrieval, rerank, tool and 1-3 chat spans, whole in one request', () => {
  const g = generate(base);
  for (const body of g.bodies) {
    const byTrace = new Map<string, Span[]>();
    for (const s of spansOf(body)) byTrace.set(hex(s.traceId), [...(byTrace.get(hex(s.traceId)) ?? []), s]);
    for (const spans of byTrace.values()) {
      const op = (s: Span) =>
        s.attributes.find((kv) => kv.key === 'gen_ai.operation.name')?.value?.stringValue;
      const roots = spans.filter((s) => !s.parentSpanId || s.parentSpanId.length === 0);
      assert.equal(roots.length, 1);
      assert.equal(op(roots[0] as Span), 'invoke_agent');
      const chats = spans.filter((s) => op(s) === 'chat').length;
      assert.ok(chats >= 1 && chats <= 3, `${chats} chat spans`);
      for (const o of ['retrieval', 'rerank', 'execute_tool'])
        assert.equal(spans.filter((s) => op(s) === o).length, 1, o);
    }
    assert.ok(spansOf(body).length >= base.spansPerRequest);
  }
});

test('plants PII in about the asked share of content strings, and none when the share is 0', () => {
  const g = generate({ ...base, requests: 10 });
  assert.ok(Math.abs(g.piiContents / g.contents - 0.3) < 0.08, `${g.piiContents} of ${g.contents}`);
  const clean = generate({ ...base, piiShare: 0 });
  const text = Buffer.concat(clean.bodies).toString('latin1');
  for (const v of PLANTED_VALUES) assert.ok(!text.includes(v), v);
});

test('rewrites trace ids per send: one id per trace, none repeated across sends', () => {
  const g = generate(base);
  const body = g.bodies[0] as Uint8Array;
  const offsets = traceIdOffsets(body);
  assert.equal(offsets.length, g.spansPerBody[0]);
  const traces = (b: Uint8Array) => new Set(spansOf(b).map((s) => hex(s.traceId)));
  const first = traces(withGeneration(body, offsets, 1));
  const second = traces(withGeneration(body, offsets, 2));
  assert.equal(first.size, g.tracesPerBody[0]);
  assert.equal(second.size, g.tracesPerBody[0]);
  for (const id of first) assert.ok(!second.has(id));
  assert.deepEqual(
    spansOf(withGeneration(body, offsets, 1)).map((s) => s.name),
    spansOf(body).map((s) => s.name),
  );
});

test('fails about the asked share of traces, on the tool span and the root', () => {
  const g = generate({ ...base, requests: 20, errorShare: 0.05 });
  const failed = new Set<string>();
  let spans = 0;
  for (const body of g.bodies)
    for (const s of spansOf(body))
      if (s.status?.code === 2) {
        failed.add(hex(s.traceId));
        spans++;
      }
  const traces = g.tracesPerBody.reduce((a, n) => a + n, 0);
  assert.equal(spans, 2 * failed.size);
  assert.ok(failed.size >= traces * 0.02 && failed.size <= traces * 0.09, `${failed.size} of ${traces}`);
});
