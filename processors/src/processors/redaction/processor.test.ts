import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { PermanentError } from '../../component/errors.ts';
import { decodeRequest } from '../../otlp/codec.ts';
import type { AnyValue, KeyValue, LogsRequest, MetricsRequest, TracesRequest } from '../../otlp/model.ts';
import type { Signal } from '../../otlp/schema.ts';
import type { Detector } from './detectors.ts';
import { RedactionProcessor } from './processor.ts';
import { compile, settings, sink, wire } from './testkit.ts';

const EMAIL = 'alice@example.com';
const s = (v: string) => ({ stringValue: v });
const kv = (key: string, value: object) => ({ key, value });
const TRACE = '5b8efff798038103d269b633813fc60c';
const SPAN = 'eee19b7ec3c1b174';

function decode<S extends Signal>(signal: S, obj: object) {
  return decodeRequest(signal, Buffer.from(JSON.stringify(obj)), 'json');
}

/** One span with `value` in every string-bearing location. */
function traceWith(value: string): TracesRequest {
  return decode('traces', {
    resourceSpans: [
      {
        resource: { attributes: [kv('deployment.owner', s(value)), kv('service.name', s('chat'))] },
        scopeSpans: [
          {
            scope: { name: 'lib', version: '1.0', attributes: [kv('scope.owner', s(value))] },
            spans: [
              {
                traceId: TRACE,
                spanId: SPAN,
                name: `chat for ${value}`,
                attributes: [
                  kv('app.note', s(`from ${value}`)),
                  kv('app.list', { arrayValue: { values: [s('x'), s(value)] } }),
                  kv('app.map', {
                    kvlistValue: { values: [kv('inner', { arrayValue: { values: [s(value)] } })] },
                  }),
                  kv('gen_ai.input.messages', s(JSON.stringify([{ role: 'user', content: value }]))),
                ],
                status: { code: 2, message: `failed for ${value}` },
                events: [{ name: `event ${value}`, attributes: [kv('ev', s(value))] }],
                links: [{ traceId: TRACE, spanId: SPAN, attributes: [kv('ln', s(value))] }],
              },
            ],
          },
        ],
      },
    ],
  });
}

function metricsWith(value: string): MetricsRequest {
  const attrs = [kv('tenant', s(value))];
  return decode('metrics', {
    resourceMetrics: [
      {
        resource: { attributes: [kv('owner', s(value))] },
        scopeMetrics: [
          {
            scope: { name: 'm', attributes: [kv('scope.owner', s(value))] },
            metrics: [
              {
                name: 'g',
                metadata: [kv('md', s(value))],
                gauge: { dataPoints: [{ asInt: '1', attributes: attrs }] },
              },
              {
                name: 's',
                sum: {
                  dataPoints: [
                    {
                      asInt: '1',
                      attributes: attrs,
                      exemplars: [{ asDouble: 1, filteredAttributes: attrs }],
                    },
                  ],
                },
              },
              { name: 'h', histogram: { dataPoints: [{ count: '1', attributes: attrs }] } },
              { name: 'e', exponentialHistogram: { dataPoints: [{ count: '1', attributes: attrs }] } },
              { name: 'q', summary: { dataPoints: [{ count: '1', attributes: attrs }] } },
            ],
          },
        ],
      },
    ],
  });
}

function logsWith(value: string): LogsRequest {
  return decode('logs', {
    resourceLogs: [
      {
        resource: { attributes: [kv('owner', s(value))] },
        scopeLogs: [
          {
            scope: { name: 'l', attributes: [kv('scope.owner', s(value))] },
            logRecords: [
              { body: s(`login by ${value}`), attributes: [kv('user', s(value))], eventName: `evt ${value}` },
              { body: { kvlistValue: { values: [kv('role', s('user')), kv('content', s(value))] } } },
              { body: { arrayValue: { values: [s(value), { intValue: '4111111111111111' }] } } },
            ],
          },
        ],
      },
    ],
  });
}

async function run<S extends Signal>(
  signal: S,
  data: Parameters<RedactionProcessor<S>['consume']>[0],
  block: Record<string, unknown> = {},
  extra: Detector[] = [],
) {
  const set = settings();
  const next = sink<S>();
  await new RedactionProcessor(set, compile(block, extra), signal, next).consume(data);
  return { set, next, metrics: await set.telemetry.registry.metrics() };
}

function attr(list: KeyValue[] | undefined, key: string): AnyValue | undefined {
  return list?.find((a) => a.key === key)?.value ?? undefined;
}

function keyFile(content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'llmobs-key-')), 'key');
  writeFileSync(path, content);
  return path;
}

describe('coverage of every field location', () => {
  test('traces: resource, scope, span name, attributes (nested too), status, event name and attributes, links', async () => {
    const req = traceWith(EMAIL);
    const { next } = await run('traces', req);
    assert.equal(next.received[0], req, 'the same request is passed on');
    const rs = req.resourceSpans[0];
    const span = rs?.scopeSpans[0]?.spans[0];
    assert.ok(rs && span);
    assert.equal(attr(rs.resource?.attributes, 'deployment.owner')?.stringValue, '<EMAIL>');
    assert.equal(attr(rs.scopeSpans[0]?.scope?.attributes, 'scope.owner')?.stringValue, '<EMAIL>');
    assert.equal(span.name, 'chat for <EMAIL>');
    assert.equal(attr(span.attributes, 'app.note')?.stringValue, 'from <EMAIL>');
    assert.equal(attr(span.attributes, 'app.list')?.arrayValue?.values[1]?.stringValue, '<EMAIL>');
    assert.equal(
      attr(span.attributes, 'app.map')?.kvlistValue?.values[0]?.value?.arrayValue?.values[0]?.stringValue,
      '<EMAIL>',
    );
    assert.equal(
      attr(span.attributes, 'gen_ai.input.messages')?.stringValue,
      '[{"role":"user","content":"<EMAIL>"}]',
    );
    assert.equal(span.status?.message, 'failed for <EMAIL>');
    assert.equal(span.events[0]?.name, 'event <EMAIL>');
    assert.equal(attr(span.events[0]?.attributes, 'ev')?.stringValue, '<EMAIL>');
    assert.equal(attr(span.links[0]?.attributes, 'ln')?.stringValue, '<EMAIL>');
    const out = wire('traces', req);
    assert.ok(!out.includes(EMAIL), out);
    assert.ok(out.includes(TRACE) && out.includes(SPAN), 'ids untouched');
    assert.equal(rs.scopeSpans[0]?.scope?.name, 'lib');
  });

  test('metrics: resource, scope, metadata, every datapoint kind and exemplar attributes', async () => {
    const req = metricsWith(EMAIL);
    const before = wire('metrics', req).split(EMAIL).length - 1;
    await run('metrics', req);
    const out = wire('metrics', req);
    assert.equal(before, 9, 'planted in 9 places');
    assert.ok(!out.includes(EMAIL), out);
    assert.equal(out.split('<EMAIL>').length - 1, 9);
  });

  test('logs: body (string, key-value list, array, integer), attributes, event name, resource, scope', async () => {
    const req = logsWith(EMAIL);
    await run('logs', req);
    const recs = req.resourceLogs[0]?.scopeLogs[0]?.logRecords as {
      body: AnyValue;
      attributes: KeyValue[];
      eventName?: string;
    }[];
    assert.equal(recs[0]?.body.stringValue, 'login by <EMAIL>');
    assert.equal(recs[0]?.eventName, 'evt <EMAIL>');
    assert.equal(attr(recs[0]?.attributes, 'user')?.stringValue, '<EMAIL>');
    assert.equal(recs[1]?.body.kvlistValue?.values[0]?.value?.stringValue, 'user', 'role untouched');
    assert.equal(recs[1]?.body.kvlistValue?.values[1]?.value?.stringValue, '<EMAIL>');
    assert.equal(
      recs[2]?.body.arrayValue?.values[1]?.stringValue,
      '<CREDIT_CARD>',
      'an integer card becomes a token',
    );
    const out = wire('logs', req);
    assert.ok(!out.includes(EMAIL) && !out.includes('4111111111111111'), out);
  });
});

describe('actions', () => {
  test('mask writes a typed token per entity', async () => {
    const req = traceWith('card 4111 1111 1111 1111, ssn 536-22-8833');
    await run('traces', req);
    assert.equal(
      req.resourceSpans[0]?.scopeSpans[0]?.spans[0]?.name,
      'chat for card <CREDIT_CARD>, ssn <US_SSN>',
    );
  });

  test('hash: the same value gets the same keyed pseudonym, in any format and across spans', async () => {
    const key = keyFile('0123456789abcdef0123456789abcdef\n');
    const block = { action: 'hash', hmac: { key_file: key, key_id: 'k1' } };
    const a = traceWith('card 4111 1111 1111 1111');
    const b = traceWith('card 4111-1111-1111-1111');
    await run('traces', a, block);
    await run('traces', b, block);
    const nameA = a.resourceSpans[0]?.scopeSpans[0]?.spans[0]?.name ?? '';
    const nameB = b.resourceSpans[0]?.scopeSpans[0]?.spans[0]?.name ?? '';
    assert.match(nameA, /^chat for card <CREDIT_CARD:k1:[a-p]{16}>$/);
    assert.equal(nameA, nameB);
    const email = traceWith('ALICE@example.com');
    await run('traces', email, block);
    const lower = traceWith('alice@example.com');
    await run('traces', lower, block);
    assert.equal(
      email.resourceSpans[0]?.scopeSpans[0]?.spans[0]?.name,
      lower.resourceSpans[0]?.scopeSpans[0]?.spans[0]?.name,
    );
  });

  test('hash: a different key gives a different pseudonym; without key_id the key fingerprint names it', async () => {
    const k1 = keyFile('0123456789abcdef0123456789abcdef');
    const k2 = keyFile('fedcba9876543210fedcba9876543210');
    const a = traceWith(EMAIL);
    const b = traceWith(EMAIL);
    await run('traces', a, { action: 'hash', hmac: { key_file: k1, key_id: 'k' } });
    await run('traces', b, { action: 'hash', hmac: { key_file: k2, key_id: 'k' } });
    const na = a.resourceSpans[0]?.scopeSpans[0]?.spans[0]?.name;
    const nb = b.resourceSpans[0]?.scopeSpans[0]?.spans[0]?.name;
    assert.match(na ?? '', /<EMAIL:k:[a-p]{16}>/);
    assert.match(nb ?? '', /<EMAIL:k:[a-p]{16}>/);
    assert.notEqual(na, nb);
    // Without a key id, the key's fingerprint names it.
    const c = traceWith(EMAIL);
    await run('traces', c, { action: 'hash', hmac: { key_file: k1 } });
    assert.match(c.resourceSpans[0]?.scopeSpans[0]?.spans[0]?.name ?? '', /<EMAIL:k[a-p]{7}:[a-p]{16}>/);
  });

  test('drop removes the attribute holding the entity; a span name gets the mask instead', async () => {
    const req = traceWith(EMAIL);
    await run('traces', req, { actions: { email: 'drop' } });
    const span = req.resourceSpans[0]?.scopeSpans[0]?.spans[0];
    assert.deepEqual(
      span?.attributes.map((a) => a.key),
      [],
      'app.note, app.list, app.map and gen_ai.input.messages all held the email',
    );
    assert.equal(span?.name, 'chat for <EMAIL>');
    assert.equal(
      attr(req.resourceSpans[0]?.resource?.attributes, 'service.name')?.stringValue,
      'chat',
      'others kept',
    );
    assert.equal(req.resourceSpans[0]?.resource?.attributes.length, 1);
  });

  test('per-entity actions override the default', async () => {
    const req = traceWith(`${EMAIL} 536-22-8833`);
    await run('traces', req, { action: 'drop', actions: { us_ssn: 'mask', email: 'mask' } });
    assert.equal(
      attr(req.resourceSpans[0]?.scopeSpans[0]?.spans[0]?.attributes, 'app.note')?.stringValue,
      'from <EMAIL> <US_SSN>',
    );
  });
});

describe('allow-lists', () => {
  test('allowed_keys are never scanned, nested values included', async () => {
    const req = traceWith(EMAIL);
    await run('traces', req, { allowed_keys: ['app.map', 'deployment.*'] });
    const rs = req.resourceSpans[0];
    assert.equal(attr(rs?.resource?.attributes, 'deployment.owner')?.stringValue, EMAIL);
    const map = attr(rs?.scopeSpans[0]?.spans[0]?.attributes, 'app.map');
    assert.equal(map?.kvlistValue?.values[0]?.value?.arrayValue?.values[0]?.stringValue, EMAIL);
    assert.equal(attr(rs?.scopeSpans[0]?.spans[0]?.attributes, 'app.note')?.stringValue, 'from <EMAIL>');
  });

  test('allowed_values and allowed_value_patterns keep listed matches', async () => {
    const req = traceWith('support@example.com, noreply@corp.example and bob@example.org');
    await run('traces', req, {
      allowed_values: ['Support@Example.com'],
      allowed_value_patterns: ['.*@corp\\.example'],
    });
    assert.equal(
      req.resourceSpans[0]?.scopeSpans[0]?.spans[0]?.name,
      'chat for support@example.com, noreply@corp.example and <EMAIL>',
    );
  });
});

describe('fails closed', () => {
  test('a value over max_scan_bytes is replaced whole and counted', async () => {
    const big = `${'x'.repeat(2000)} ${EMAIL}`;
    const req = traceWith(big);
    const { metrics } = await run('traces', req, { max_scan_bytes: '1KiB' });
    const span = req.resourceSpans[0]?.scopeSpans[0]?.spans[0];
    assert.equal(attr(span?.attributes, 'app.note')?.stringValue, '<REDACTED:TOO_LARGE>');
    assert.equal(span?.name, '<REDACTED:TOO_LARGE>');
    assert.match(
      metrics,
      /llmobs_redaction_failclosed_total\{processor="llm_redaction",reason="too_large"\} 11/,
    );
  });

  test('a value whose scan throws is replaced, never passed through', async () => {
    const boom: Detector = {
      entity: 'boom',
      ambiguous: false,
      find(text) {
        if (text.includes('trigger')) throw new Error('detector bug');
      },
    };
    const req = traceWith(`trigger ${EMAIL}`);
    const { metrics, next } = await run('traces', req, {}, [boom]);
    const span = req.resourceSpans[0]?.scopeSpans[0]?.spans[0];
    assert.equal(span?.name, '<REDACTED:ERROR>');
    assert.equal(attr(span?.attributes, 'app.note')?.stringValue, '<REDACTED:ERROR>');
    assert.match(
      metrics,
      /llmobs_redaction_failclosed_total\{processor="llm_redaction",reason="error"\} \d+/,
    );
    assert.equal(next.received.length, 1);
    assert.ok(!wire('traces', req).includes(EMAIL));
  });

  test('AnyValue nested deeper than the limit is replaced', async () => {
    // 40 levels: within what protobuf decodes (100 message levels), beyond the processor's 32.
    let value: AnyValue = s(EMAIL);
    for (let i = 0; i < 40; i++) value = { arrayValue: { values: [value] } };
    const req: TracesRequest = {
      resourceSpans: [
        {
          scopeSpans: [
            { spans: [{ name: 'x', attributes: [{ key: 'deep', value }], events: [], links: [] }] },
          ],
        },
      ],
    };
    const { metrics } = await run('traces', req);
    const out = wire('traces', req);
    assert.ok(!out.includes(EMAIL));
    assert.ok(out.includes('<REDACTED:TOO_DEEP>'));
    assert.match(metrics, /reason="too_deep"\} 1/);
  });

  test('a request it cannot walk is refused, not passed on', async () => {
    const set = settings();
    const next = sink<'traces'>();
    const p = new RedactionProcessor(set, compile(), 'traces', next);
    const broken = { resourceSpans: [{ scopeSpans: [{ spans: [null] }] }] } as unknown as TracesRequest;
    await assert.rejects(p.consume(broken), PermanentError);
    assert.equal(next.received.length, 0);
  });
});

describe('observability of itself', () => {
  test('counts redactions by entity and key on /metrics; unlisted keys count as other', async () => {
    const req = traceWith(EMAIL);
    const { metrics } = await run('traces', req);
    assert.match(
      metrics,
      /llmobs_redactions_total\{processor="llm_redaction",entity="email",key="gen_ai\.input\.messages"\} 1/,
    );
    assert.match(
      metrics,
      /llmobs_redactions_total\{processor="llm_redaction",entity="email",key="span\.name"\} 1/,
    );
    assert.match(
      metrics,
      /llmobs_redactions_total\{processor="llm_redaction",entity="email",key="other"\} 7/,
    );
    assert.ok(!metrics.includes('app.note'), 'arbitrary keys never become label values');
  });

  test('indexed content keys and configured metric_keys get their own label', async () => {
    const req = decode('traces', {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  name: 'x',
                  attributes: [kv('gen_ai.prompt.3.content', s(EMAIL)), kv('app.note', s(EMAIL))],
                },
              ],
            },
          ],
        },
      ],
    });
    const { metrics } = await run('traces', req, { metric_keys: ['app.note'] });
    assert.match(metrics, /entity="email",key="gen_ai\.prompt\.\*\.content"\} 1/);
    assert.match(metrics, /entity="email",key="app\.note"\} 1/);
  });

  test('no summary attribute by default; with summary on, counts and entities only (no key names)', async () => {
    const off = traceWith(EMAIL);
    await run('traces', off);
    assert.equal(
      attr(off.resourceSpans[0]?.scopeSpans[0]?.spans[0]?.attributes, 'llmobs.redaction.count'),
      undefined,
    );
    const on = traceWith(`${EMAIL} 536-22-8833`);
    await run('traces', on, { summary: true });
    const attrs = on.resourceSpans[0]?.scopeSpans[0]?.spans[0]?.attributes;
    assert.equal(
      Number(attr(attrs, 'llmobs.redaction.count')?.intValue),
      18,
      '9 span locations × 2 entities',
    );
    assert.deepEqual(
      attr(attrs, 'llmobs.redaction.entities')?.arrayValue?.values.map((v) => v.stringValue),
      ['email', 'us_ssn'],
    );
    const logs = logsWith(EMAIL);
    await run('logs', logs, { summary: true });
    const rec = logs.resourceLogs[0]?.scopeLogs[0]?.logRecords[0] as { attributes: KeyValue[] };
    assert.equal(Number(attr(rec.attributes, 'llmobs.redaction.count')?.intValue), 3);
  });
});
