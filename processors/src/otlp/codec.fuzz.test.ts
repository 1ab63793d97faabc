import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { recordLlmSpans, sdkJson, sdkProtobuf } from '../testing/sdk-spans.ts';
import { decodeRequest, type Encoding, encodeRequest } from './codec.ts';
import { countItems } from './count.ts';
import { BadRequestError } from './errors.ts';
import { anySignalRequest, otlpJsonRequest } from './fuzz-arbitraries.ts';
import { anyJson, mutateBytes, mutateJson } from './fuzz-mutations.ts';
import { fuzzOptions } from './fuzz-options.ts';
import type { RequestBySignal } from './model.ts';
import { otlpTypes, SIGNALS, type Signal } from './schema.ts';

/** The decoded model as plain data, comparable with deepEqual (64-bit integers and bytes as strings). */
function plain(signal: Signal, req: RequestBySignal[Signal]): unknown {
  return otlpTypes[signal].request.toObject(req as never, { longs: String, bytes: String, defaults: true });
}

/**
 * The property every input must meet, through the entry point both receivers use: it decodes, or it
 * throws BadRequestError (which they answer with 400 / INVALID_ARGUMENT). What decodes must be usable
 * downstream: counted, and encoded again by either exporter encoding without throwing.
 */
function decodesOrRejects(signal: Signal, body: Uint8Array, encoding: Encoding): 'decoded' | 'rejected' {
  let data: RequestBySignal[Signal];
  try {
    data = decodeRequest(signal, body, encoding);
  } catch (err) {
    if (err instanceof BadRequestError) return 'rejected';
    throw new Error(`${encoding} decode threw ${(err as Error)?.name}, not BadRequestError: ${String(err)}`);
  }
  countItems(signal, data);
  const pb = encodeRequest(signal, data, 'protobuf');
  encodeRequest(signal, data, 'json');
  // Re-encoding what was accepted must be stable, or exporters would send something else than received.
  assert.deepEqual(plain(signal, decodeRequest(signal, pb, 'protobuf')), plain(signal, data));
  return 'decoded';
}

const signal = fc.constantFrom(...SIGNALS);
const jsonBytes = (v: unknown) => Buffer.from(JSON.stringify(v) ?? 'undefined');

describe('OTLP protobuf decoding under fuzzing', () => {
  test('arbitrary bytes decode or are rejected as bad requests, for every signal', () => {
    fc.assert(
      fc.property(signal, fc.uint8Array({ maxLength: 512 }), (s, b) => {
        decodesOrRejects(s, b, 'protobuf');
      }),
      fuzzOptions(1500),
    );
  });

  test('mutated valid requests (bit flips, truncation, length prefixes, splices) decode or are rejected', async () => {
    const sdk = sdkProtobuf(await recordLlmSpans(2));
    const generated = fc.sample(anySignalRequest, { seed: 7, numRuns: 30 }).map(({ signal, doc }) => ({
      signal,
      bytes: encodeRequest(signal, decodeRequest(signal, jsonBytes(doc), 'json'), 'protobuf'),
    }));
    const bases = [{ signal: 'traces' as Signal, bytes: sdk }, ...generated];
    const outcomes = { decoded: 0, rejected: 0 };
    fc.assert(
      fc.property(
        fc
          .record({ base: fc.constantFrom(...bases), other: fc.constantFrom(...bases) })
          .chain(({ base, other }) =>
            mutateBytes(base.bytes, other.bytes).map((bytes) => ({ signal: base.signal, bytes })),
          ),
        ({ signal: s, bytes }) => {
          outcomes[decodesOrRejects(s, bytes, 'protobuf')]++;
        },
      ),
      fuzzOptions(1500),
    );
    // Both branches must be reached, or the mutations are too weak (or too strong) to test anything.
    assert.ok(outcomes.decoded > 0 && outcomes.rejected > 0, JSON.stringify(outcomes));
  });

  test('decode(encode(x)) is x for generated valid requests of every signal', () => {
    fc.assert(
      fc.property(anySignalRequest, ({ signal: s, doc }) => {
        const x = decodeRequest(s, jsonBytes(doc), 'json');
        const again = decodeRequest(s, encodeRequest(s, x, 'protobuf'), 'protobuf');
        assert.deepEqual(plain(s, again), plain(s, x));
      }),
      fuzzOptions(300),
    );
  });
});

describe('OTLP/JSON decoding under fuzzing', () => {
  test('arbitrary JSON values decode or are rejected as bad requests', () => {
    fc.assert(
      fc.property(signal, anyJson, (s, v) => {
        decodesOrRejects(s, jsonBytes(v), 'json');
      }),
      fuzzOptions(1500),
    );
  });

  test('arbitrary text, including invalid UTF-8, decodes or is rejected', () => {
    fc.assert(
      fc.property(signal, fc.oneof(fc.string({ unit: 'binary' }), fc.uint8Array()), (s, t) => {
        decodesOrRejects(s, typeof t === 'string' ? Buffer.from(t) : t, 'json');
      }),
      fuzzOptions(500),
    );
  });

  test('valid documents with one field of a wrong type, removed, or a wrong-length id decode or are rejected', () => {
    const outcomes = { decoded: 0, rejected: 0 };
    fc.assert(
      fc.property(
        anySignalRequest.chain(({ signal, doc }) => mutateJson(doc).map((m) => ({ signal, m }))),
        ({ signal: s, m }) => {
          outcomes[decodesOrRejects(s, jsonBytes(m), 'json')]++;
        },
      ),
      fuzzOptions(800),
    );
    assert.ok(outcomes.decoded > 0 && outcomes.rejected > 0, JSON.stringify(outcomes));
  });

  test('every id field given as a non-string is rejected, naming the field', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('traceId', 'spanId', 'parentSpanId', 'trace_id', 'span_id'),
        fc.oneof(fc.integer(), fc.boolean(), fc.array(fc.nat(255)), fc.dictionary(fc.string(), fc.nat())),
        (field, id) => {
          const doc = { resourceSpans: [{ scopeSpans: [{ spans: [{ name: 'x', [field]: id }] }] }] };
          assert.throws(
            () => decodeRequest('traces', jsonBytes(doc), 'json'),
            (err: Error) =>
              err instanceof BadRequestError && err.message.includes(field.replace('_id', 'Id')),
          );
        },
      ),
      fuzzOptions(200),
    );
  });

  test('decode(encode(x)) is x through OTLP/JSON for generated valid requests of every signal', () => {
    for (const s of SIGNALS) {
      fc.assert(
        fc.property(otlpJsonRequest[s], (doc) => {
          const x = decodeRequest(s, jsonBytes(doc), 'json');
          const again = decodeRequest(s, encodeRequest(s, x, 'json'), 'json');
          assert.deepEqual(plain(s, again), plain(s, x));
        }),
        fuzzOptions(100),
      );
    }
  });

  test('the SDK’s own OTLP/JSON, mutated, decodes or is rejected', async () => {
    const doc = JSON.parse(sdkJson(await recordLlmSpans(1))) as unknown;
    fc.assert(
      fc.property(mutateJson(doc), (m) => {
        decodesOrRejects('traces', jsonBytes(m), 'json');
      }),
      fuzzOptions(500),
    );
  });
});
