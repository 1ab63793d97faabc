import fc from 'fast-check';
import type { Signal } from './schema.ts';

/**
 * fast-check generators of valid OTLP/JSON export requests (ids in hex, 64-bit integers as decimal
 * strings, enums as integers), for the fuzz tests only. Sizes stay small: the point is variety of
 * shapes, and a whole fuzz file has to run in seconds.
 */

type Json = Record<string, unknown>;

const hex = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));

// Valid Unicode only: a lone surrogate cannot survive UTF-8, so it has no place in a round-trip property.
const text = fc.string({ unit: 'binary', maxLength: 12 });
const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String);
const i64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String);
const u32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
const count = fc.integer({ min: 0, max: 1000 });
// NaN and infinities are valid OTLP/JSON ("NaN", "Infinity") but not JSON numbers; -0 does not survive JSON.
const double = fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (Object.is(d, -0) ? 0 : d));
const base64 = fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b).toString('base64'));

const { anyValue } = fc.letrec<{ anyValue: Json; keyValue: Json }>((tie) => ({
  anyValue: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text.map((stringValue) => ({ stringValue })),
    fc.boolean().map((boolValue) => ({ boolValue })),
    i64.map((intValue) => ({ intValue })),
    double.map((doubleValue) => ({ doubleValue })),
    base64.map((bytesValue) => ({ bytesValue })),
    fc.array(tie('anyValue'), { maxLength: 3 }).map((values) => ({ arrayValue: { values } })),
    fc.array(tie('keyValue'), { maxLength: 3 }).map((values) => ({ kvlistValue: { values } })),
  ),
  keyValue: fc.record({ key: text, value: tie('anyValue') }),
}));

const keyValue = fc.record({ key: text, value: anyValue });
const attributes = fc.array(keyValue, { maxLength: 4 });

const resource = fc.record({ attributes, droppedAttributesCount: count }, { requiredKeys: ['attributes'] });
const scope = fc.record(
  { name: text, version: text, attributes, droppedAttributesCount: count },
  { requiredKeys: ['name'] },
);

const span = fc.record(
  {
    traceId: hex(16),
    spanId: hex(8),
    parentSpanId: fc.oneof(fc.constant(''), hex(8)),
    traceState: text,
    flags: u32,
    name: text,
    kind: fc.integer({ min: 0, max: 5 }),
    startTimeUnixNano: u64,
    endTimeUnixNano: u64,
    attributes,
    droppedAttributesCount: count,
    events: fc.array(
      fc.record({ timeUnixNano: u64, name: text, attributes, droppedAttributesCount: count }),
      { maxLength: 2 },
    ),
    droppedEventsCount: count,
    links: fc.array(
      fc.record({ traceId: hex(16), spanId: hex(8), traceState: text, attributes, flags: u32 }),
      { maxLength: 2 },
    ),
    droppedLinksCount: count,
    status: fc.record({ message: text, code: fc.integer({ min: 0, max: 2 }) }, { requiredKeys: [] }),
  },
  { requiredKeys: ['traceId', 'spanId', 'name'] },
);

const exemplar = fc
  .record(
    {
      filteredAttributes: attributes,
      timeUnixNano: u64,
      value: fc.oneof(
        double.map((asDouble) => ({ asDouble })),
        i64.map((asInt) => ({ asInt })),
      ),
      spanId: hex(8),
      traceId: hex(16),
    },
    { requiredKeys: ['value'] },
  )
  .map(({ value, ...rest }) => ({ ...rest, ...value }));

const pointBase = {
  attributes,
  startTimeUnixNano: u64,
  timeUnixNano: u64,
  flags: u32,
};

const numberPoint = fc
  .record({
    ...pointBase,
    value: fc.oneof(
      double.map((asDouble) => ({ asDouble })),
      i64.map((asInt) => ({ asInt })),
    ),
    exemplars: fc.array(exemplar, { maxLength: 2 }),
  })
  .map(({ value, ...rest }) => ({ ...rest, ...value }));

const temporality = fc.integer({ min: 0, max: 2 });

const histogramPoint = fc.record(
  {
    ...pointBase,
    count: u64,
    sum: double,
    bucketCounts: fc.array(u64, { maxLength: 4 }),
    explicitBounds: fc.array(double, { maxLength: 3 }),
    exemplars: fc.array(exemplar, { maxLength: 1 }),
    min: double,
    max: double,
  },
  { requiredKeys: ['count'] },
);

const buckets = fc.record({
  offset: fc.integer({ min: -1000, max: 1000 }),
  bucketCounts: fc.array(u64, { maxLength: 4 }),
});

const expHistogramPoint = fc.record(
  {
    ...pointBase,
    count: u64,
    sum: double,
    scale: fc.integer({ min: -10, max: 20 }),
    zeroCount: u64,
    positive: buckets,
    negative: buckets,
    exemplars: fc.array(exemplar, { maxLength: 1 }),
    min: double,
    max: double,
    zeroThreshold: double,
  },
  { requiredKeys: ['count'] },
);

const summaryPoint = fc.record({
  ...pointBase,
  count: u64,
  sum: double,
  quantileValues: fc.array(fc.record({ quantile: double, value: double }), { maxLength: 3 }),
});

const points = <T>(arb: fc.Arbitrary<T>) => fc.array(arb, { minLength: 1, maxLength: 3 });

const metricData = fc.oneof(
  points(numberPoint).map((dataPoints) => ({ gauge: { dataPoints } })),
  fc
    .record({
      dataPoints: points(numberPoint),
      aggregationTemporality: temporality,
      isMonotonic: fc.boolean(),
    })
    .map((sum) => ({ sum })),
  fc
    .record({ dataPoints: points(histogramPoint), aggregationTemporality: temporality })
    .map((histogram) => ({ histogram })),
  fc
    .record({ dataPoints: points(expHistogramPoint), aggregationTemporality: temporality })
    .map((exponentialHistogram) => ({ exponentialHistogram })),
  points(summaryPoint).map((dataPoints) => ({ summary: { dataPoints } })),
);

const metric = fc
  .record({ name: text, description: text, unit: text, data: metricData, metadata: attributes })
  .map(({ data, ...rest }) => ({ ...rest, ...data }));

const logRecord = fc.record(
  {
    timeUnixNano: u64,
    observedTimeUnixNano: u64,
    severityNumber: fc.integer({ min: 0, max: 24 }),
    severityText: text,
    body: anyValue,
    attributes,
    droppedAttributesCount: count,
    flags: u32,
    traceId: hex(16),
    spanId: hex(8),
    eventName: text,
  },
  { requiredKeys: [] },
);

const few = <T>(arb: fc.Arbitrary<T>) => fc.array(arb, { maxLength: 3 });

const tracesRequest = fc.record({
  resourceSpans: few(
    fc.record({ resource, scopeSpans: few(fc.record({ scope, spans: few(span) })), schemaUrl: text }),
  ),
});

const metricsRequest = fc.record({
  resourceMetrics: few(
    fc.record({
      resource,
      scopeMetrics: few(fc.record({ scope, metrics: few(metric), schemaUrl: text })),
    }),
  ),
});

const logsRequest = fc.record({
  resourceLogs: few(
    fc.record({ resource, scopeLogs: few(fc.record({ scope, logRecords: few(logRecord) })) }),
  ),
});

/** A valid OTLP/JSON export request of the signal, as a parsed JSON object. */
export const otlpJsonRequest: Readonly<Record<Signal, fc.Arbitrary<Json>>> = {
  traces: tracesRequest,
  metrics: metricsRequest,
  logs: logsRequest,
};

/** One of the three signals with a valid request for it. */
export const anySignalRequest: fc.Arbitrary<{ signal: Signal; doc: Json }> = fc.oneof(
  tracesRequest.map((doc) => ({ signal: 'traces' as const, doc })),
  metricsRequest.map((doc) => ({ signal: 'metrics' as const, doc })),
  logsRequest.map((doc) => ({ signal: 'logs' as const, doc })),
);
