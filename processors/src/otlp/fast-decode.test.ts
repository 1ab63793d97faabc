import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import Long from 'long';
import protobuf from 'protobufjs';
// Registers the GenAI keys whose string values are interned, so the properties below cover that path.
import '../genai/dialects.ts';
import { recordLlmSpans, sdkProtobuf } from '../testing/sdk-spans.ts';
import { internedBuffers } from './fast-decode.ts';
import type { AnyValue, KeyValue } from './model.ts';
import { otlpTypes } from './schema.ts';

// The same schema in a second root, never given the hand-written decoders: the reference.
const reference = protobuf.Root.fromJSON(otlpTypes.traces.request.root.toJSON());
reference.resolveAll();
const refRequest = reference.lookupType('opentelemetry.proto.ExportTraceServiceRequest');
const refKeyValue = reference.lookupType('opentelemetry.proto.KeyValue');
const fast = otlpTypes.traces.request;

const plain = (type: protobuf.Type, m: protobuf.Message) =>
  type.toObject(m, { longs: String, bytes: String, oneofs: true });

/** Both decoders on `bytes`: the same object, or the same error. */
function sameDecode(bytes: Uint8Array, fastType: protobuf.Type, refType: protobuf.Type): void {
  let expected: unknown;
  let expectedError: string | undefined;
  try {
    expected = plain(refType, refType.decode(bytes));
  } catch (err) {
    expectedError = String(err);
  }
  let actual: unknown;
  let actualError: string | undefined;
  try {
    actual = plain(fastType, fastType.decode(bytes));
  } catch (err) {
    actualError = String(err);
  }
  if (expectedError !== undefined || actualError !== undefined) {
    assert.equal(
      actualError !== undefined,
      expectedError !== undefined,
      `errors: ${actualError} / ${expectedError}`,
    );
    return;
  }
  assert.deepEqual(actual, expected);
}

const leaf: fc.Arbitrary<AnyValue> = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => ({ stringValue: s })),
  fc.boolean().map((b) => ({ boolValue: b })),
  fc.oneof(fc.integer(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })).map((n) => ({
    intValue: typeof n === 'bigint' ? Long.fromString(n.toString()) : n,
  })),
  fc.double().map((d) => ({ doubleValue: d })),
  fc.uint8Array({ maxLength: 8 }).map((b) => ({ bytesValue: b })),
  fc.constant({}),
);
const keys = fc.oneof(
  fc.constantFrom(
    'gen_ai.request.model',
    'gen_ai.provider.name',
    'gen_ai.usage.input_tokens',
    'service.name',
    '',
  ),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ minLength: 120, maxLength: 140 }),
);
const { value: anyValue } = fc.letrec<{ value: AnyValue; kv: KeyValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 3 }).map((values) => ({ arrayValue: { values } })),
    fc.array(tie('kv'), { maxLength: 3 }).map((values) => ({ kvlistValue: { values } })),
  ),
  kv: fc.record({ key: keys, value: tie('value') }),
}));
const keyValue = fc.record({ key: keys, value: fc.option(anyValue, { nil: undefined }) });

const encodeKv = (kv: KeyValue) => refKeyValue.encode(kv as never).finish();

describe('hand-written KeyValue/AnyValue decoders', () => {
  it('decode OpenTelemetry SDK requests exactly like protobufjs', async () => {
    sameDecode(sdkProtobuf(await recordLlmSpans(30)), fast, refRequest);
  });

  it('decode any attribute exactly like protobufjs, twice (the second time from interned keys)', () => {
    fc.assert(
      fc.property(keyValue, (kv) => {
        const bytes = encodeKv(kv);
        sameDecode(bytes, otlpTypes.keyValue, refKeyValue);
        sameDecode(bytes, otlpTypes.keyValue, refKeyValue);
      }),
      { numRuns: 2000, seed: 42 },
    );
  });

  it('agree with protobufjs on odd encodings: two oneof members, repeated keys, unknown fields', () => {
    fc.assert(
      fc.property(
        fc.array(keyValue, { minLength: 1, maxLength: 4 }),
        fc.uint8Array({ maxLength: 6 }),
        (kvs, junk) => {
          // Concatenated messages merge: later fields win, a later oneof member replaces an earlier one.
          const bytes = Buffer.concat([...kvs.map(encodeKv), Uint8Array.from([0xf8, 0x07, 0x01])]);
          sameDecode(bytes, otlpTypes.keyValue, refKeyValue);
          // And an AnyValue made of several AnyValues.
          const values = kvs.flatMap((kv) =>
            kv.value
              ? [
                  reference
                    .lookupType('opentelemetry.proto.AnyValue')
                    .encode(kv.value as never)
                    .finish(),
                ]
              : [],
          );
          sameDecode(
            Buffer.concat(values),
            otlpTypes.keyValue.fields.value?.resolvedType as protobuf.Type,
            reference.lookupType('opentelemetry.proto.AnyValue'),
          );
          sameDecode(Buffer.concat([encodeKv(kvs[0] as KeyValue), junk]), otlpTypes.keyValue, refKeyValue);
        },
      ),
      { numRuns: 1000, seed: 7 },
    );
  });

  it('fail exactly where protobufjs fails on truncated and corrupted requests', async () => {
    const body = sdkProtobuf(await recordLlmSpans(4));
    fc.assert(
      fc.property(fc.nat(body.length - 1), fc.nat(255), fc.boolean(), (at, byte, truncate) => {
        const bytes = truncate ? body.subarray(0, at) : Uint8Array.from(body);
        if (!truncate) bytes[at] = byte;
        sameDecode(bytes, fast, refRequest);
      }),
      { numRuns: 3000, seed: 3 },
    );
  });

  it('refuse nesting past protobufjs’s limit, as protobufjs does', () => {
    // Built by hand: protobufjs's encoder refuses such depth too.
    const field = (tag: number, body: Uint8Array) => {
      const len: number[] = [];
      for (let n = body.length; ; n >>>= 7) {
        if (n < 0x80) {
          len.push(n);
          break;
        }
        len.push((n & 0x7f) | 0x80);
      }
      return Buffer.concat([Uint8Array.from([tag, ...len]), body]);
    };
    let value: Uint8Array = field(0x0a, Buffer.from('deep'));
    for (let i = 0; i < 200; i++) {
      const kv = Buffer.concat([field(0x0a, Buffer.from('k')), field(0x12, value)]);
      value = field(0x32, field(0x0a, kv));
    }
    const bytes = Buffer.concat([field(0x0a, Buffer.from('top')), field(0x12, value)]);
    assert.throws(() => otlpTypes.keyValue.decode(bytes), /depth/);
    assert.throws(() => refKeyValue.decode(bytes), /depth/);
  });

  it('keep no view into a received body for the keys they intern (it would keep the body alive)', () => {
    const body = Buffer.concat([
      Buffer.alloc(1000),
      encodeKv({ key: 'a.key.seen.once', value: { stringValue: 'gpt' } }),
    ]);
    otlpTypes.keyValue.decode(body.subarray(1000));
    assert.ok(!internedBuffers().includes(body.buffer));
  });

  it('stay installed after requests were decoded (protobufjs sets its decoders up lazily)', async () => {
    const installed = otlpTypes.keyValue.decode;
    fast.decode(sdkProtobuf(await recordLlmSpans(2)));
    assert.equal(otlpTypes.keyValue.decode, installed);
    assert.notEqual(installed, refKeyValue.decode);
    assert.match(installed.toString(), /readKey/);
  });
});
