import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeRequest, encodeRequest } from '../../otlp/codec.ts';
import { idToHex } from '../../otlp/ids.ts';
import type { Span, TracesRequest } from '../../otlp/model.ts';
import { traces } from '../../testing/genai-spans.ts';
import { detachResource, detachSpan } from './detach.ts';
import { harness, ids, spansOf } from './testkit.ts';

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));

/** A request with every kind of bytes field: ids, parent, a link, bytes values nested and not. */
function richRequest(traceIds: readonly string[]): TracesRequest {
  const req = traces(
    traceIds.flatMap((traceId, t) => [
      { name: 'chat', traceId, spanId: `00000000000000${t}b`, parentSpanId: `00000000000000${t}a` },
      { name: 'POST /chat', traceId, spanId: `00000000000000${t}a` },
    ]),
  );
  const rs = req.resourceSpans[0];
  assert.ok(rs?.resource);
  rs.resource.attributes.push({ key: 'host.id.raw', value: { bytesValue: hex('0102030405') } });
  for (const s of rs.scopeSpans[0]?.spans ?? []) {
    s.attributes.push({ key: 'digest', value: { bytesValue: hex('deadbeef') } });
    s.attributes.push({
      key: 'chunks',
      value: { arrayValue: { values: [{ bytesValue: hex('cafe') }, { stringValue: 'x' }] } },
    });
    s.events.push({
      name: 'e',
      timeUnixNano: 1,
      attributes: [
        {
          key: 'payload',
          value: { kvlistValue: { values: [{ key: 'b', value: { bytesValue: hex('ab') } }] } },
        },
      ],
    });
    s.links.push({ traceId: hex('99'.repeat(16)), spanId: hex('88'.repeat(8)), attributes: [] });
  }
  return req;
}

/** Every typed array reachable from `root`, with the path it was found at. */
function typedArrays(root: unknown): { path: string; view: Uint8Array }[] {
  const out: { path: string; view: Uint8Array }[] = [];
  const seen = new Set<object>();
  const walk = (v: unknown, path: string): void => {
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      out.push({ path, view: v as Uint8Array });
      return;
    }
    for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
  };
  walk(root, '');
  return out;
}

/** Every byte field of `v` as path → hex, in path order. */
function bytesByPath(v: unknown): string[] {
  return typedArrays(v)
    .map((x) => `${x.path}=${idToHex(x.view)}`)
    .sort();
}

/** Decodes `req` from a body of its own, as the receiver does: bytes fields are views into `body`. */
function received(req: TracesRequest): { body: Buffer; data: TracesRequest } {
  const body = Buffer.from(encodeRequest('traces', req, 'protobuf'));
  return { body, data: decodeRequest('traces', body, 'protobuf') as TracesRequest };
}

describe('llm_sampling: nothing it holds points into a received request body', () => {
  it('the decoder hands out views into the body (what this guards against)', () => {
    const { body, data } = received(richRequest(['1'.repeat(32)]));
    const views = typedArrays(data).filter((x) => x.view.length > 0);
    assert.ok(views.length >= 6);
    assert.ok(views.some((x) => x.view.buffer === body.buffer));
  });

  it('copies ids, parent ids, link ids and bytes values of buffered spans out of the body, keeping their bytes', async () => {
    const next = ids(7);
    const traceIds = [next(), next(), next()];
    const original = richRequest(traceIds);
    const { body, data } = received(original);
    const h = harness({ policies: { probabilistic: { sampling_percentage: 100 } } });
    await h.p.consume(data);
    await h.after(2_000); // past root_grace: decided, kept, forwarded (the same span objects)
    const out = spansOf(h.next.received);
    assert.equal(out.length, 6);
    const held = typedArrays(h.next.received).filter((x) => x.view.length > 0);
    assert.ok(held.length >= 6 * 6, `found ${held.length} byte fields`);
    for (const x of held) assert.notEqual(x.view.buffer, body.buffer, `${x.path} still points into the body`);
    const want = spansOf([original]);
    const key = (s: Span) =>
      `${idToHex(s.traceId ?? new Uint8Array())}/${idToHex(s.spanId ?? new Uint8Array())}`;
    assert.deepEqual(out.map(key).sort(), want.map(key).sort());
    for (const s of out) {
      const w = want.find((x) => key(x) === key(s));
      assert.ok(w);
      assert.deepEqual(bytesByPath(s), bytesByPath(w));
    }
  });

  it('also copies spans without a trace id and late spans of a kept trace before they wait for the next consumer', async () => {
    const t = '2'.repeat(32);
    const h = harness({ policies: { probabilistic: { sampling_percentage: 100 } } });
    await h.p.consume(received(richRequest([t])).data);
    await h.after(2_000);
    h.next.received.length = 0;
    const late = received(richRequest([t]));
    const orphan = received(
      traces([{ name: 'no trace', traceId: '0'.repeat(32), spanId: '00000000000000cc' }]),
    );
    h.next.refuse = 1; // held in the processor, not handed on at once
    await h.p.consume(late.data);
    await h.p.consume(orphan.data);
    await h.after(1_000);
    await h.after(1_000);
    assert.equal(spansOf(h.next.received).length, 3);
    for (const [body, req] of [
      [late.body, h.next.received],
      [orphan.body, h.next.received],
    ] as const)
      for (const x of typedArrays(req))
        if (x.view.length > 0) assert.notEqual(x.view.buffer, body.buffer, x.path);
  });

  it('changes nothing a re-encoded span says: strings stay strings, roots stay roots', () => {
    const { data } = received(richRequest(['1'.repeat(32)]));
    const rs = data.resourceSpans[0];
    assert.ok(rs);
    rs.resource?.attributes.push({ key: 'resource.marker', value: { stringValue: 'm-1' } });
    const before = encodeRequest('traces', data, 'protobuf');
    const again = decodeRequest('traces', before, 'protobuf') as TracesRequest;
    detachResource(again.resourceSpans[0]?.resource);
    for (const s of spansOf([again])) detachSpan(s, undefined);
    // Byte for byte: detaching only swaps views for copies, it adds no field (an inherited empty
    // default made own would be encoded, and for AnyValue decoded back as the value).
    assert.deepEqual(Buffer.from(encodeRequest('traces', again, 'protobuf')), Buffer.from(before));
  });

  it('shares one copy of the trace id among the spans of a trace', () => {
    const { data } = received(richRequest(['3'.repeat(32)]));
    const spans = spansOf([data]);
    const shared = new Uint8Array(spans[0]?.traceId ?? []);
    for (const s of spans) detachSpan(s, shared);
    assert.ok(spans.every((s) => s.traceId === shared));
    assert.notEqual(spans[0]?.spanId, spans[1]?.spanId);
  });
});
