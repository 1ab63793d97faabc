import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  decodeAnyValue,
  decodeTracesData,
  OtlpJsonLinesReader,
  OtlpSpanKind,
  OtlpStatusCode,
} from './otlp-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'llmobs-otlp-file-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function request(name: string, attrs: object[] = []): string {
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
        scopeSpans: [
          {
            scope: { name: 'lib', version: '2.0.0' },
            spans: [
              {
                traceId: '5b8efff798038103d269b633813fc60c',
                spanId: 'eee19b7ec3c1b174',
                parentSpanId: '',
                name,
                kind: 3,
                startTimeUnixNano: '1700000000000000001',
                endTimeUnixNano: '1700000000000000002',
                attributes: attrs,
                events: [{ timeUnixNano: '1700000000000000001', name: 'e', attributes: [] }],
                links: [{ traceId: 'aa'.repeat(16), spanId: 'bb'.repeat(8), attributes: [] }],
                status: { code: 2, message: 'boom' },
              },
            ],
          },
        ],
      },
    ],
  });
}

test('decodes every OTLP/JSON value type the way a test compares them', () => {
  assert.equal(decodeAnyValue({ stringValue: 'x' }), 'x');
  assert.equal(decodeAnyValue({ boolValue: false }), false);
  assert.equal(decodeAnyValue({ intValue: '42' }), 42);
  assert.equal(
    decodeAnyValue({ intValue: '9223372036854775807' }),
    9223372036854775807n,
    'beyond 2^53 stays exact',
  );
  assert.equal(decodeAnyValue({ doubleValue: 0.5 }), 0.5);
  assert.ok(Number.isNaN(decodeAnyValue({ doubleValue: 'NaN' })));
  assert.deepEqual(
    decodeAnyValue({ bytesValue: Buffer.from('hi').toString('base64') }),
    new Uint8Array([104, 105]),
  );
  assert.deepEqual(decodeAnyValue({ arrayValue: { values: [{ intValue: 1 }, { stringValue: 'a' }] } }), [
    1,
    'a',
  ]);
  assert.deepEqual(decodeAnyValue({ kvlistValue: { values: [{ key: 'k', value: { boolValue: true } }] } }), {
    k: true,
  });
  assert.equal(decodeAnyValue({}), null, 'an empty AnyValue is OTLP’s null');
});

test('flattens a traces request into resource/scope/span triples with decoded fields', () => {
  const [s, ...rest] = decodeTracesData(JSON.parse(request('op', [{ key: 'n', value: { intValue: '7' } }])));
  assert.equal(rest.length, 0);
  assert.ok(s);
  assert.deepEqual(s.resource, { attributes: { 'service.name': 'svc' }, schemaUrl: undefined });
  assert.deepEqual(s.scope, { name: 'lib', version: '2.0.0', attributes: {} });
  assert.equal(s.span.parentSpanId, undefined, 'an empty parent id means a root span');
  assert.equal(s.span.kind, OtlpSpanKind.CLIENT);
  assert.equal(s.span.startTimeUnixNano, 1700000000000000001n);
  assert.deepEqual(s.span.attributes, { n: 7 });
  assert.deepEqual(s.span.status, { code: OtlpStatusCode.ERROR, message: 'boom' });
  assert.equal(s.span.links[0]?.traceId, 'aa'.repeat(16));
  assert.equal(s.span.events[0]?.name, 'e');
});

test('accepts enum names as protojson writes them', () => {
  const [s] = decodeTracesData({
    resourceSpans: [
      {
        scopeSpans: [
          { spans: [{ name: 'x', kind: 'SPAN_KIND_SERVER', status: { code: 'STATUS_CODE_OK' } }] },
        ],
      },
    ],
  });
  assert.equal(s?.span.kind, OtlpSpanKind.SERVER);
  assert.equal(s?.span.status.code, OtlpStatusCode.OK);
});

test('the reader follows a growing file and leaves a half-written line for the next read', () => {
  const path = join(dir, 'grow.jsonl');
  const reader = new OtlpJsonLinesReader(path);
  assert.deepEqual(reader.spans(), [], 'no file yet is no spans');

  writeFileSync(path, `${request('a')}\n`);
  assert.deepEqual(
    reader.spans().map((s) => s.span.name),
    ['a'],
  );

  const second = request('b');
  appendFileSync(path, second.slice(0, 40));
  assert.deepEqual(
    reader.spans().map((s) => s.span.name),
    ['a'],
    'a partial line is not parsed',
  );
  appendFileSync(path, `${second.slice(40)}\n${JSON.stringify({ resourceMetrics: [] })}\n`);
  assert.deepEqual(
    reader.spans().map((s) => s.span.name),
    ['a', 'b'],
  );
  assert.equal(reader.requests().length, 3, 'non-trace lines are kept as requests but yield no spans');

  writeFileSync(path, `${request('c')}\n`);
  assert.deepEqual(
    reader.spans().map((s) => s.span.name),
    ['c'],
    'a truncated file is read afresh',
  );
});
