import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { QueuedExporter, type Sender } from '../exporterhelper/queued-exporter.ts';
import { DEFAULT_RETRY } from '../exporterhelper/retry.ts';
import { decodeRequest, encodeRequest } from '../otlp/codec.ts';
import { rememberReceivedBytes } from '../otlp/received-bytes.ts';
import { appendSpanAttribute } from '../otlp/span-appends.ts';
import { SelfTelemetry } from '../telemetry/self-telemetry.ts';
import { recordLlmSpans, sdkProtobuf } from '../testing/sdk-spans.ts';
import { type BytesMode, FanoutConsumer } from './fanout.ts';

/** An SDK export with a field from a future OTLP version appended (field 99, varint 1): protobufjs drops it. */
async function receivedWithUnknownField(): Promise<Uint8Array> {
  return Buffer.concat([sdkProtobuf(await recordLlmSpans(2)), Buffer.from([0x98, 0x06, 0x01])]);
}

async function exportThrough(
  bytes: Uint8Array,
  mode: BytesMode,
  mutate: boolean | 'append',
): Promise<Uint8Array[]> {
  const sent: Uint8Array[] = [];
  const sender: Sender = {
    canConcat: true,
    async send(body) {
      sent.push(body);
      return { kind: 'ok' };
    },
  };
  const set = {
    id: 'otlp_http/x',
    logger: pino({ level: 'silent' }),
    telemetry: new SelfTelemetry({ processMetrics: false }),
  };
  const exporter = new QueuedExporter(
    set,
    'traces',
    (d) => encodeRequest('traces', d, 'protobuf'),
    sender,
    { queueSizeBytes: 1 << 20, numConsumers: 1, maxBatchBytes: 1 << 20 },
    DEFAULT_RETRY,
    true,
  );
  await exporter.start();
  const data = decodeRequest('traces', bytes, 'protobuf');
  rememberReceivedBytes(data, bytes);
  const span = data.resourceSpans[0]?.scopeSpans[0]?.spans[0];
  if (mutate === 'append' && span)
    appendSpanAttribute(data, span, { key: 'gen_ai.usage.cost.amount', value: { doubleValue: 0.25 } });
  else if (mutate && span) span.name = 'changed';
  await new FanoutConsumer('traces', [exporter], mode).consume(data);
  for (let i = 0; i < 100 && sent.length === 0; i++) await sleep(5);
  await exporter.shutdown(Date.now() + 1000);
  return sent;
}

test('a pipeline that changes nothing forwards the received bytes, fields from newer senders included', async () => {
  const received = await receivedWithUnknownField();
  const [sent] = await exportThrough(received, 'received', false);
  assert.deepEqual(Buffer.from(sent ?? []), Buffer.from(received));
});

test('a pipeline with a data-changing processor never forwards the received bytes', async () => {
  const received = await receivedWithUnknownField();
  const [sent] = await exportThrough(received, 'encode', true);
  const decoded = decodeRequest('traces', sent ?? new Uint8Array(), 'protobuf');
  assert.equal(decoded.resourceSpans[0]?.scopeSpans[0]?.spans[0]?.name, 'changed');
  assert.notDeepEqual(Buffer.from(sent ?? []), Buffer.from(received));
});

test('a pipeline that only appends span attributes sends the received bytes with them spliced in', async () => {
  const received = await receivedWithUnknownField();
  const [sent] = await exportThrough(received, 'appended', 'append');
  const decoded = decodeRequest('traces', sent ?? new Uint8Array(), 'protobuf');
  const attrs = decoded.resourceSpans[0]?.scopeSpans[0]?.spans[0]?.attributes ?? [];
  assert.equal(attrs.at(-1)?.key, 'gen_ai.usage.cost.amount');
  assert.ok(
    Buffer.from(sent ?? [])
      .subarray(-3)
      .equals(Buffer.from([0x98, 0x06, 0x01])),
    'the unknown field survived',
  );
});
