import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Long from 'long';
import { recordLlmSpans, sdkProtobuf } from '../testing/sdk-spans.ts';
import { decodeRequest, encodeRequest } from './codec.ts';
import type { KeyValue, TracesRequest } from './model.ts';
import { otlpTypes } from './schema.ts';
import { appendSpanAttribute, markChanged, patchedBytes } from './span-appends.ts';

const type = otlpTypes.traces.request;
const plain = (req: TracesRequest) =>
  type.toObject(type.decode(encodeRequest('traces', req, 'protobuf')), { longs: String, bytes: String });
const decode = (b: Uint8Array) => decodeRequest('traces', b, 'protobuf') as TracesRequest;

/** A small deterministic generator, so the property runs see the same cases every run. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function randomValue(r: () => number): KeyValue['value'] {
  const pick = Math.floor(r() * 12);
  if (pick === 0) return { stringValue: 'é€'.repeat(Math.floor(r() * 300)) };
  if (pick === 1) return { doubleValue: r() * 1e6 };
  if (pick === 2) return { intValue: Math.floor(r() * 2 ** 40) };
  if (pick === 3) return { boolValue: r() < 0.5 };
  if (pick === 4) return { arrayValue: { values: [{ stringValue: 'a' }, { intValue: 7 }] } };
  // What the hand encoder leaves to protobufjs, and its edges.
  if (pick === 5) return { intValue: -Math.floor(r() * 2 ** 40) - 1 };
  if (pick === 6) return { intValue: Long.fromString('-9223372036854775808') };
  if (pick === 7) return { stringValue: '' };
  if (pick === 8) return null;
  if (pick === 9) return { bytesValue: Uint8Array.from([0, 255, 7]) };
  if (pick === 10) return { doubleValue: -0 };
  return { kvlistValue: { values: [{ key: 'nested', value: { doubleValue: 1.5 } }] } };
}

/** The SDK's request with its resource and scope repeated, so appends land under several of each. */
function severalResources(bytes: Uint8Array): Uint8Array {
  const req = decode(bytes);
  const rs = req.resourceSpans[0];
  assert.ok(rs);
  const scopes = [rs.scopeSpans[0], rs.scopeSpans[0], rs.scopeSpans[0]].map((ss) => ({
    ...ss,
    spans: [...(ss?.spans ?? [])],
  }));
  const copy = { ...rs, scopeSpans: scopes } as typeof rs;
  return encodeRequest('traces', { resourceSpans: [copy, { ...rs }, copy] } as TracesRequest, 'protobuf');
}

describe('span attribute appends spliced into the received bytes', () => {
  it('decodes exactly like encoding the changed request, over random appends', async () => {
    const bytes = sdkProtobuf(await recordLlmSpans(40));
    const r = rng(7);
    for (let run = 0; run < 200; run++) {
      const req = decode(bytes);
      const spans = req.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
      const n = Math.floor(r() * 6);
      for (let i = 0; i < n; i++) {
        const s = spans[Math.floor(r() * spans.length)];
        assert.ok(s);
        // Long keys and values push length prefixes over varint byte boundaries (127, 16383 bytes).
        appendSpanAttribute(req, s, {
          key: `k${i}.${'x'.repeat(Math.floor(r() * 200))}`,
          value: randomValue(r),
        });
      }
      const patched = patchedBytes(req, bytes);
      assert.ok(patched, 'patched');
      assert.deepEqual(
        type.toObject(type.decode(patched), { longs: String, bytes: String }),
        plain(req),
        `run ${run}`,
      );
    }
  });

  it('decodes exactly like encoding it, with appends under several resources and scopes', async () => {
    const bytes = severalResources(sdkProtobuf(await recordLlmSpans(12)));
    const r = rng(11);
    for (let run = 0; run < 200; run++) {
      const req = decode(bytes);
      const spans = req.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
      const n = 1 + Math.floor(r() * 8);
      for (let i = 0; i < n; i++) {
        const s = spans[Math.floor(r() * spans.length)];
        assert.ok(s);
        appendSpanAttribute(req, s, { key: `ключ.${i}`, value: randomValue(r) });
      }
      const patched = patchedBytes(req, bytes);
      assert.ok(patched, 'patched');
      assert.deepEqual(
        type.toObject(type.decode(patched), { longs: String, bytes: String }),
        plain(req),
        `run ${run}`,
      );
    }
  });

  it('hands back the received bytes themselves when nothing was appended', async () => {
    const bytes = sdkProtobuf(await recordLlmSpans(2));
    const req = decode(bytes);
    assert.equal(patchedBytes(req, bytes), bytes);
  });

  it('keeps fields it does not know, byte for byte', () => {
    // A span carrying an unknown field (99, varint 1): re-encoding would lose it, the splice keeps it.
    const spanType = otlpTypes.traces.request.lookupType('Span');
    const spanBytes = spanType
      .encode({
        traceId: new Uint8Array(16).fill(1),
        spanId: new Uint8Array(8).fill(2),
        name: 'chat',
      } as never)
      .finish();
    const marker = Uint8Array.from([0x98, 0x06, 0x01]);
    const span = Buffer.concat([spanBytes, marker]);
    const ss = Buffer.concat([Uint8Array.from([0x12, span.length]), span]);
    const rs = Buffer.concat([Uint8Array.from([0x12, ss.length]), ss]);
    const body = Buffer.concat([Uint8Array.from([0x0a, rs.length]), rs]);
    const req = decode(body);
    const s = req.resourceSpans[0]?.scopeSpans[0]?.spans[0];
    assert.ok(s);
    appendSpanAttribute(req, s, { key: 'gen_ai.usage.cost.amount', value: { doubleValue: 0.5 } });
    const patched = patchedBytes(req, body);
    assert.ok(patched);
    assert.ok(Buffer.from(patched).includes(Buffer.from(marker)), 'the unknown field is still there');
    const again = decode(patched);
    assert.equal(
      again.resourceSpans[0]?.scopeSpans[0]?.spans[0]?.attributes.at(-1)?.key,
      'gen_ai.usage.cost.amount',
    );
    assert.equal(again.resourceSpans[0]?.scopeSpans[0]?.spans[0]?.name, 'chat');
  });

  it('gives up (encode instead) once a processor changed the request otherwise', async () => {
    const bytes = sdkProtobuf(await recordLlmSpans(2));
    const req = decode(bytes);
    const s = req.resourceSpans[0]?.scopeSpans[0]?.spans[0];
    assert.ok(s);
    appendSpanAttribute(req, s, { key: 'a', value: { boolValue: true } });
    markChanged(req);
    assert.equal(patchedBytes(req, bytes), undefined);
  });
});
