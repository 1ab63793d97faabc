import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type Jaeger, startJaeger } from './jaeger.ts';

/** One span as OTLP/JSON, which Jaeger's OTLP/HTTP receiver accepts next to protobuf. */
function otlpJson(service: string, traceId: string, spanId: string, name: string) {
  const now = BigInt(Date.now()) * 1_000_000n;
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [
          {
            scope: { name: 'llmobs-test', version: '1.2.3' },
            spans: [
              {
                traceId,
                spanId,
                name,
                kind: 3,
                startTimeUnixNano: String(now),
                endTimeUnixNano: String(now + 5_000_000n),
                attributes: [
                  { key: 'gen_ai.usage.input_tokens', value: { intValue: '42' } },
                  { key: 'gen_ai.request.temperature', value: { doubleValue: 0.5 } },
                  { key: 'gen_ai.is_streaming', value: { boolValue: true } },
                  {
                    key: 'gen_ai.response.finish_reasons',
                    value: { arrayValue: { values: [{ stringValue: 'stop' }] } },
                  },
                ],
                events: [{ name: 'first token', timeUnixNano: String(now + 1_000_000n) }],
                status: { code: 2, message: 'rate limited' },
              },
            ],
          },
        ],
      },
    ],
  };
}

describe('Jaeger v2 harness', () => {
  let jaeger: Jaeger;

  before(async () => {
    jaeger = await startJaeger();
  });
  after(async () => {
    await jaeger?.stop();
  });

  it('listens only on loopback', () => {
    assert.match(jaeger.otlpHttpEndpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(jaeger.otlpGrpcEndpoint, /^127\.0\.0\.1:\d+$/);
    assert.match(jaeger.queryUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('has no traces for a service it never saw', async () => {
    assert.deepEqual(await jaeger.traces('nobody'), []);
  });

  it('stores an OTLP span and reads it back with typed attributes, status and scope', async () => {
    const service = `harness-${randomBytes(4).toString('hex')}`;
    const traceId = randomBytes(16).toString('hex');
    const spanId = randomBytes(8).toString('hex');
    const res = await fetch(`${jaeger.otlpHttpEndpoint}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(otlpJson(service, traceId, spanId, 'chat mock-gpt')),
    });
    assert.equal(res.status, 200, await res.text());

    const [span] = await jaeger.waitForSpans(service, (s) => s.name === 'chat mock-gpt', 10_000);
    assert.ok(span);
    assert.equal(span.traceId, traceId);
    assert.equal(span.spanId, spanId);
    assert.equal(span.service, service);
    assert.equal(span.kind, 'client');
    assert.deepEqual(span.scope, { name: 'llmobs-test', version: '1.2.3' });
    assert.deepEqual(span.status, { code: 'error', message: 'rate limited' });
    assert.equal(span.attributes['gen_ai.usage.input_tokens'], 42);
    assert.equal(span.attributes['gen_ai.request.temperature'], 0.5);
    assert.equal(span.attributes['gen_ai.is_streaming'], true);
    assert.deepEqual(span.attributes['gen_ai.response.finish_reasons'], ['stop']);
    assert.deepEqual(
      span.events.map((e) => e.name),
      ['first token'],
    );
    assert.equal(span.endTimeUnixNano - span.startTimeUnixNano, 5_000_000n);
    assert.ok((await jaeger.services()).includes(service));
  });

  it('gives up waiting with the spans it did see', async () => {
    await assert.rejects(
      jaeger.waitForSpans('nobody', () => true, 500),
      /timed out after 500 ms .* service nobody; spans seen: none/,
    );
  });
});
