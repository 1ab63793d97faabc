import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { recordLlmSpans, sdkJson, sdkProtobuf } from '../testing/sdk-spans.ts';
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  encodeStatus,
  encodingOf,
} from './codec.ts';
import { BadRequestError } from './errors.ts';
import { otlpTypes } from './schema.ts';

const toPlain = (req: object) =>
  otlpTypes.traces.request.toObject(req as never, { longs: String, bytes: String, defaults: false });

test('re-encodes an SDK protobuf export to the same data', async () => {
  const original = sdkProtobuf(await recordLlmSpans(3));
  const decoded = decodeRequest('traces', original, 'protobuf');
  const again = encodeRequest('traces', decoded, 'protobuf');
  assert.deepEqual(toPlain(decodeRequest('traces', again, 'protobuf')), toPlain(decoded));
});

test('decodes the SDK OTLP/JSON export to the same data as its protobuf export', async () => {
  const spans = await recordLlmSpans(2);
  const fromJson = decodeRequest('traces', Buffer.from(sdkJson(spans)), 'json');
  const fromPb = decodeRequest('traces', sdkProtobuf(spans), 'protobuf');
  assert.deepEqual(toPlain(fromJson), toPlain(fromPb));
  const span = fromJson.resourceSpans[0]?.scopeSpans[0]?.spans[0];
  assert.equal(span?.traceId?.length, 16);
  assert.equal(span?.spanId?.length, 8);
});

test('writes OTLP/JSON with hex ids, integer enums and int64 as strings', async () => {
  const decoded = decodeRequest('traces', sdkProtobuf(await recordLlmSpans(1)), 'protobuf');
  const json = JSON.parse(Buffer.from(encodeRequest('traces', decoded, 'json')).toString()) as {
    resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[];
  };
  const span = json.resourceSpans[0]?.scopeSpans[0]?.spans.find((s) => s.kind === 3);
  assert.ok(span, 'a CLIENT span with kind as the integer 3');
  assert.match(String(span.traceId), /^[0-9a-f]{32}$/);
  assert.match(String(span.spanId), /^[0-9a-f]{16}$/);
  assert.match(String(span.startTimeUnixNano), /^\d{19}$/);
});

test('accepts proto field names in OTLP/JSON and ignores unknown fields', () => {
  const body = JSON.stringify({
    resource_spans: [
      {
        scope_spans: [
          {
            spans: [
              {
                trace_id: '5b8efff798038103d269b633813fc60c',
                span_id: 'eee19b7ec3c1b174',
                name: 'chat',
                start_time_unix_nano: '1544712660000000000',
                future_field: { anything: true },
              },
            ],
          },
        ],
      },
    ],
  });
  const req = decodeRequest('traces', Buffer.from(body), 'json');
  const span = req.resourceSpans[0]?.scopeSpans[0]?.spans[0];
  assert.equal(span?.name, 'chat');
  assert.equal(String(span?.startTimeUnixNano), '1544712660000000000');
  assert.equal(Buffer.from(span?.spanId ?? []).toString('hex'), 'eee19b7ec3c1b174');
});

test('rejects a base64 trace id in OTLP/JSON with a message naming the field', () => {
  const body = JSON.stringify({
    resourceSpans: [
      { scopeSpans: [{ spans: [{ traceId: 'W47/95gDgQPSabYzgT/GDA==', spanId: 'eee19b7ec3c1b174' }] }] },
    ],
  });
  assert.throws(
    () => decodeRequest('traces', Buffer.from(body), 'json'),
    (err: Error) => {
      assert.ok(err instanceof BadRequestError);
      assert.match(err.message, /traceId must be 32 hex characters/);
      return true;
    },
  );
});

test('rejects malformed protobuf, gzip bytes sent as protobuf, and non-JSON as BadRequestError', async () => {
  const good = sdkProtobuf(await recordLlmSpans(1));
  assert.throws(
    () => decodeRequest('traces', good.subarray(0, good.length - 7), 'protobuf'),
    BadRequestError,
  );
  assert.throws(() => decodeRequest('traces', gzipSync(good), 'protobuf'), BadRequestError);
  assert.throws(() => decodeRequest('traces', Buffer.from('{"resourceSpans": ['), 'json'), BadRequestError);
  assert.throws(() => decodeRequest('traces', Buffer.from('[1,2]'), 'json'), BadRequestError);
});

test('rejects a deeply nested AnyValue instead of overflowing the stack', () => {
  let value: unknown = { stringValue: 'leaf' };
  for (let i = 0; i < 1000; i++) value = { arrayValue: { values: [value] } };
  const json = JSON.stringify({
    resourceSpans: [{ scopeSpans: [{ spans: [{ name: 'x', attributes: [{ key: 'deep', value }] }] }] }],
  });
  assert.throws(() => decodeRequest('traces', Buffer.from(json), 'json'), /nests deeper/);

  // The same attack in protobuf: 100k nested AnyValue{array_value{values[AnyValue...]}} levels. Lengths
  // are computed inside-out first so the buffer is written once, outside-in.
  const varint = (n: number) => {
    const out: number[] = [];
    while (n > 127) {
      out.push((n & 127) | 128);
      n = Math.floor(n / 128);
    }
    out.push(n);
    return out;
  };
  const leaf = [0x0a, 0x04, ...Buffer.from('leaf')]; // AnyValue{string_value: "leaf"}
  const nestedRequest = (depth: number) => {
    const anyLen: number[] = [leaf.length]; // anyLen[k] = size of the AnyValue at nesting level k
    for (let k = 1; k <= depth; k++) {
      const inner = anyLen[k - 1] ?? 0;
      const arrayLen = 1 + varint(inner).length + inner;
      anyLen.push(1 + varint(arrayLen).length + arrayLen);
    }
    const header: number[] = [];
    for (let k = depth; k >= 1; k--) {
      const inner = anyLen[k - 1] ?? 0;
      const arrayLen = 1 + varint(inner).length + inner;
      header.push(0x2a, ...varint(arrayLen), 0x0a, ...varint(inner));
    }
    const nested = Buffer.from([...header, ...leaf]);
    const wrap = (tag: number, body: Buffer) =>
      Buffer.concat([Buffer.from([tag, ...varint(body.length)]), body]);
    const kv = Buffer.concat([Buffer.from([0x0a, 0x01, 0x64]), wrap(0x12, nested)]); // KeyValue{key:"d", value}
    return wrap(0x0a, wrap(0x12, wrap(0x12, wrap(0x4a, kv)))); // request.resource_spans.scope_spans.spans.attributes
  };
  // The builder is right: a modest depth decodes, down to the leaf.
  const ok = decodeRequest('traces', nestedRequest(20), 'protobuf');
  let v = ok.resourceSpans[0]?.scopeSpans[0]?.spans[0]?.attributes[0]?.value;
  for (let i = 0; i < 20; i++) v = v?.arrayValue?.values[0];
  assert.equal(v?.stringValue, 'leaf');
  assert.throws(() => decodeRequest('traces', nestedRequest(100_000), 'protobuf'), BadRequestError);
});

test('encodes partial_success in both encodings and reads it back', () => {
  const partial = { rejected: 2, errorMessage: 'two spans had no trace id' };
  const json = JSON.parse(Buffer.from(encodeResponse('traces', 'json', partial)).toString());
  assert.deepEqual(json, {
    partialSuccess: { rejectedSpans: '2', errorMessage: 'two spans had no trace id' },
  });
  assert.deepEqual(
    decodeResponse('traces', encodeResponse('traces', 'protobuf', partial), 'protobuf'),
    partial,
  );
  assert.deepEqual(decodeResponse('logs', encodeResponse('logs', 'json', partial), 'json'), partial);
  assert.equal(encodeResponse('metrics', 'protobuf').length, 0, 'full success is an empty message');
});

test('encodes a google.rpc.Status error body', () => {
  assert.deepEqual(JSON.parse(Buffer.from(encodeStatus('json', 3, 'bad')).toString()), {
    code: 3,
    message: 'bad',
  });
});

test('maps content types to encodings', () => {
  assert.equal(encodingOf('application/x-protobuf'), 'protobuf');
  assert.equal(encodingOf('application/json; charset=utf-8'), 'json');
  assert.equal(encodingOf('text/plain'), undefined);
  assert.equal(encodingOf(undefined), undefined);
});
