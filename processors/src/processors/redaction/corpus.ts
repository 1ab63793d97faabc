/**
 * A labelled corpus for the redaction tests: realistic LLM telemetry (chat prompts and completions,
 * tool calls, RAG results, application logs, GenAI metrics) with entities planted in every field
 * location of all three signals, and identifiers that must come out untouched. Seeded, so every run
 * builds the same corpus and a failure names the seed that reproduces it.
 */
import { decodeRequest } from '../../otlp/codec.ts';
import type { LogsRequest, MetricsRequest, TracesRequest } from '../../otlp/model.ts';
import type { Signal } from '../../otlp/schema.ts';

/** mulberry32: a small, fast, seedable PRNG (uniform in [0, 1)). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';
const ALNUM = LOWER + UPPER + DIGITS;
const HEX = '0123456789abcdef';
const B64URL = `${ALNUM}-_`;

/** A value planted in the corpus: `value` must not survive; `text` is what was written (may hold more). */
export interface Plant {
  readonly entity: string;
  readonly value: string;
  readonly text: string;
}

/** Seeded generators of entities and identifiers, each valid for its validator. */
export class Gen {
  readonly #rand: () => number;

  constructor(seed: number) {
    this.#rand = prng(seed);
  }

  random(): number {
    return this.#rand();
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.#rand() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    const v = items[this.int(0, items.length - 1)];
    if (v === undefined) throw new Error('pick from an empty list');
    return v;
  }

  chars(n: number, alphabet: string): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[this.int(0, alphabet.length - 1)];
    return s;
  }

  /** Random characters with at least one lower, upper and digit (as real keys have). */
  mixed(n: number, alphabet = ALNUM): string {
    for (;;) {
      const s = this.chars(n, alphabet);
      if (/[a-z]/.test(s) && /[A-Z]/.test(s) && /\d/.test(s)) return s;
    }
  }

  // ---- entities ---------------------------------------------------------------------------------------

  email(): Plant {
    const first = this.pick(['alice', 'bob', 'chen', 'dmitri', 'eva', 'fatima', 'gus', 'hana', 'ivan', 'jo']);
    const last = this.pick(['smith', 'nguyen', 'garcia', 'muller', 'rossi', 'kowalski', 'tanaka', 'okafor']);
    const sep = this.pick(['.', '_', '', '+']);
    const domain = this.pick([
      'example.com',
      'mail.example.org',
      'corp.example.co.uk',
      'example.io',
      'example.de',
    ]);
    const v = `${first}${sep}${last}${this.int(1, 999)}@${domain}`;
    return { entity: 'email', value: v, text: v };
  }

  phone(): Plant {
    const d = (n: number) => this.chars(n, DIGITS);
    const nz = () => String(this.int(2, 9));
    const area = nz() + d(2);
    const exch = nz() + d(2);
    const line = d(4);
    const v = this.pick([
      () => `+1 (${area}) ${exch}-${line}`,
      () => `+1-${area}-${exch}-${line}`,
      () => `(${area}) ${exch}-${line}`,
      () => `${area}-${exch}-${line}`,
      () => `${area}.${exch}.${line}`,
      () => `+44 20 ${nz()}${d(3)} ${d(4)}`,
      () => `+44 7${d(3)} ${d(6)}`,
      () => `020 ${nz()}${d(3)} ${d(4)}`,
      () => `07${d(3)} ${d(6)}`,
      () => `+33 ${this.int(1, 9)} ${d(2)} ${d(2)} ${d(2)} ${d(2)}`,
      () => `0${this.int(1, 9)} ${d(2)} ${d(2)} ${d(2)} ${d(2)}`,
      () => `+49 30 ${nz()}${d(7)}`,
      () => `+91 9${d(4)} ${d(5)}`,
      () => `+81 3-${d(4)}-${d(4)}`,
      () => `+55 11 9${d(4)}-${d(4)}`,
      () => `+61 2 ${nz()}${d(3)} ${d(4)}`,
      () => `+86 13${d(1)} ${d(4)} ${d(4)}`,
      () => `+${this.pick(['14', '44', '33', '49', '34'])}${nz()}${d(8)}`,
    ])();
    return { entity: 'phone_number', value: v, text: v };
  }

  card(): Plant {
    const scheme = this.pick([
      { prefix: '4', len: 16 },
      { prefix: String(this.int(51, 55)), len: 16 },
      { prefix: this.pick(['34', '37']), len: 15 },
      { prefix: '6011', len: 16 },
      { prefix: String(this.int(3528, 3589)), len: 16 },
    ]);
    let body = scheme.prefix + this.chars(scheme.len - scheme.prefix.length - 1, DIGITS);
    body += luhnCheckDigit(body);
    if (/^(\d)\1+$/.test(body)) return this.card();
    const sep = this.pick([' ', '-', '']);
    const v =
      scheme.len === 15
        ? [body.slice(0, 4), body.slice(4, 10), body.slice(10)].join(sep)
        : (body.match(/.{4}/g) ?? []).join(sep);
    return { entity: 'credit_card', value: v, text: v };
  }

  iban(): Plant {
    const country = this.pick([
      { cc: 'DE', bban: () => this.chars(18, DIGITS) },
      { cc: 'GB', bban: () => this.chars(4, UPPER) + this.chars(14, DIGITS) },
      { cc: 'FR', bban: () => this.chars(23, DIGITS) },
      { cc: 'NL', bban: () => this.chars(4, UPPER) + this.chars(10, DIGITS) },
      { cc: 'ES', bban: () => this.chars(20, DIGITS) },
    ]);
    const bban = country.bban();
    const compact = `${country.cc}${ibanCheckDigits(country.cc, bban)}${bban}`;
    const v = this.random() < 0.6 ? (compact.match(/.{1,4}/g) ?? []).join(' ') : compact;
    return { entity: 'iban', value: v, text: v };
  }

  ssn(): Plant {
    let area = this.int(1, 899);
    if (area === 666) area = 667;
    const a = String(area).padStart(3, '0');
    const g = String(this.int(1, 99)).padStart(2, '0');
    const s = String(this.int(1, 9999)).padStart(4, '0');
    if (/^(\d)\1+$/.test(a + g + s) || a + g + s === '078051120' || a + g + s === '219099999')
      return this.ssn();
    const v = `${a}-${g}-${s}`;
    return { entity: 'us_ssn', value: v, text: v };
  }

  ipv4(): Plant {
    const v = [this.int(11, 223), this.int(0, 255), this.int(0, 255), this.int(1, 254)].join('.');
    return { entity: 'ip_address', value: v, text: v };
  }

  ipv6(): Plant {
    const g = () => this.chars(4, HEX).replace(/^0+(?=.)/, '');
    const v =
      this.random() < 0.5
        ? `2001:db8:${g()}:${g()}:${g()}:${g()}:${g()}:${g()}`
        : `2001:db8:${g()}::${g()}:${g()}`;
    return { entity: 'ip_address', value: v, text: v };
  }

  apiKey(): Plant {
    const v = this.pick([
      () => `sk-proj-${this.mixed(64, B64URL)}`,
      () => `sk-${this.mixed(48)}`,
      () => `sk-ant-api03-${this.mixed(93, B64URL)}AA`,
      () => `AKIA${this.chars(16, UPPER + DIGITS)}`,
      () => `ghp_${this.mixed(36)}`,
      () => `github_pat_${this.mixed(22)}_${this.mixed(59)}`,
      () => `xoxb-${this.chars(12, DIGITS)}-${this.chars(13, DIGITS)}-${this.mixed(24)}`,
      () => `AIza${this.mixed(35, B64URL)}`,
    ])();
    return { entity: 'api_key', value: v, text: v };
  }

  jwt(): Plant {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const v = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: this.chars(10, DIGITS), name: 'user', iat: this.int(1.6e9, 1.8e9) })}.${this.chars(43, B64URL)}`;
    return { entity: 'jwt', value: v, text: v };
  }

  bearer(): Plant {
    const v = this.mixed(40);
    return { entity: 'bearer_token', value: v, text: `Bearer ${v}` };
  }

  privateKey(): Plant {
    const lines = [0, 1, 2].map(() => this.chars(64, `${ALNUM}+/`));
    const text = `-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----`;
    return { entity: 'private_key', value: lines[1] ?? '', text };
  }

  urlPassword(): Plant {
    const pw = this.mixed(14);
    return { entity: 'url_password', value: pw, text: `postgres://svc_orders:${pw}@db.internal:5432/orders` };
  }

  secret(): Plant {
    const pw = this.mixed(12);
    return { entity: 'secret', value: pw, text: `password=${pw}` };
  }

  employeeId(): Plant {
    const v = `EMP-${this.chars(6, DIGITS)}`;
    return { entity: 'employee_id', value: v, text: v };
  }

  /** One entity of any kind. */
  any(): Plant {
    return this.pick([
      () => this.email(),
      () => this.phone(),
      () => this.card(),
      () => this.iban(),
      () => this.ssn(),
      () => this.ipv4(),
      () => this.ipv6(),
      () => this.apiKey(),
      () => this.jwt(),
      () => this.bearer(),
      () => this.privateKey(),
      () => this.urlPassword(),
      () => this.secret(),
      () => this.employeeId(),
    ])();
  }

  // ---- identifiers (must never be redacted) ----------------------------------------------------------

  uuid(): string {
    const h = (n: number) => this.chars(n, HEX);
    return `${h(8)}-${h(4)}-4${h(3)}-${this.pick(['8', '9', 'a', 'b'])}${h(3)}-${h(12)}`;
  }

  hexId(bytes: number): string {
    for (;;) {
      const s = this.chars(bytes * 2, HEX);
      if (/[a-f]/.test(s)) return s;
    }
  }

  isoTimestamp(): string {
    const d = new Date(this.int(1.6e12, 1.8e12));
    return this.random() < 0.5 ? d.toISOString() : d.toISOString().replace('Z', '+02:00');
  }

  nanos(): string {
    return `${this.int(1.6e9, 1.8e9)}${this.chars(9, DIGITS)}`;
  }

  completionId(): string {
    return `chatcmpl-${this.chars(29, ALNUM)}`;
  }

  callId(): string {
    return `call_${this.chars(24, ALNUM)}`;
  }

  /** A numeric id that looks like a US phone number (so only key treatment protects it). */
  numericId(): string {
    return `${this.int(2, 9)}${this.chars(2, DIGITS)}${this.int(2, 9)}${this.chars(6, DIGITS)}`;
  }
}

export function luhnCheckDigit(body: string): string {
  let sum = 0;
  let double = true;
  for (let i = body.length - 1; i >= 0; i--) {
    let d = Number(body[i]);
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return String((10 - (sum % 10)) % 10);
}

export function ibanCheckDigits(cc: string, bban: string): string {
  const digits = `${bban}${cc}00`.replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
  let rem = 0;
  for (const ch of digits) rem = (rem * 10 + Number(ch)) % 97;
  return String(98 - rem).padStart(2, '0');
}

// ---- the corpus -------------------------------------------------------------------------------------------

/** Every field location the corpus plants into, per signal. */
export const LOCATIONS = {
  traces: [
    'resource.attribute',
    'scope.attribute',
    'span.name',
    'span.attribute',
    'span.attribute.int',
    'span.attribute.array',
    'span.attribute.kvlist',
    'gen_ai.input.messages',
    'gen_ai.output.messages',
    'gen_ai.output.messages.tool_call.arguments',
    'gen_ai.system_instructions',
    'gen_ai.tool.call.arguments',
    'gen_ai.tool.call.result',
    'gen_ai.prompt.0.content',
    'llm.input_messages.0.message.content',
    'input.value',
    'span.status.message',
    'span.event.name',
    'span.event.attribute',
    'span.link.attribute',
  ],
  metrics: [
    'resource.attribute',
    'scope.attribute',
    'metric.metadata',
    'gauge.datapoint.attribute',
    'sum.datapoint.attribute',
    'histogram.datapoint.attribute',
    'exponential_histogram.datapoint.attribute',
    'summary.datapoint.attribute',
    'exemplar.attribute',
  ],
  logs: [
    'resource.attribute',
    'scope.attribute',
    'log.body.string',
    'log.body.kvlist',
    'log.attribute',
    'log.event_name',
  ],
} as const satisfies Record<Signal, readonly string[]>;

export interface PlantedValue extends Plant {
  readonly signal: Signal;
  readonly location: string;
}

export interface Corpus {
  readonly traces: TracesRequest;
  readonly metrics: MetricsRequest;
  readonly logs: LogsRequest;
  readonly planted: readonly PlantedValue[];
  /** Strings (ids, timestamps) that must appear in the output exactly as they went in. */
  readonly identifiers: readonly string[];
  /** Attribute values that were JSON strings going in and must still be JSON coming out. */
  readonly jsonKeys: readonly string[];
}

type Json = Record<string, unknown>;
const str = (s: string) => ({ stringValue: s });
const kv = (key: string, value: Json) => ({ key, value });

/**
 * Builds one request per signal with `spans` LLM spans (and as many log records and metric points).
 * Every location of LOCATIONS gets at least one planted entity per item, in realistic text.
 */
export function buildCorpus(seed: number, spans = 4): Corpus {
  const g = new Gen(seed);
  const planted: PlantedValue[] = [];
  const identifiers: string[] = [];
  const plant = (signal: Signal, location: string, p: Plant = g.any()): string => {
    planted.push({ ...p, signal, location });
    return p.text;
  };
  const ident = (s: string) => {
    identifiers.push(s);
    return s;
  };
  const sentence = (signal: Signal, location: string) => {
    const p = g.any();
    const text = plant(signal, location, p);
    return g.pick([
      () => `Hi, please update my details: ${text}. Thanks!`,
      () => `Customer wrote: "${text}" — escalate to tier 2.`,
      () => `${text}`,
      () => `Note for the agent (ticket ${ident(g.uuid())}): ${text}\nend of note`,
      () => `[${ident(g.isoTimestamp())}] user supplied ${text} in the form`,
    ])();
  };

  // ---- traces -------------------------------------------------------------------------------------------
  const spanList: Json[] = [];
  for (let i = 0; i < spans; i++) {
    const callId = ident(g.callId());
    const toolArgs = JSON.stringify({
      customer_email: plant('traces', 'gen_ai.output.messages.tool_call.arguments', g.email()),
      note: sentence('traces', 'gen_ai.output.messages.tool_call.arguments'),
    });
    const input = JSON.stringify([
      { role: 'system', parts: [{ type: 'text', content: 'You are a helpful support agent.' }] },
      { role: 'user', parts: [{ type: 'text', content: sentence('traces', 'gen_ai.input.messages') }] },
    ]);
    const output = JSON.stringify([
      {
        role: 'assistant',
        parts: [
          { type: 'text', content: sentence('traces', 'gen_ai.output.messages') },
          { type: 'tool_call', id: callId, name: 'update_customer', arguments: toolArgs },
        ],
        finish_reason: 'tool_call',
      },
    ]);
    const responseId = ident(g.completionId());
    const sessionId = ident(g.uuid());
    const userId = ident(g.numericId());
    spanList.push({
      traceId: g.hexId(16),
      spanId: g.hexId(8),
      name: `chat gpt-4o for ${plant('traces', 'span.name', g.email())}`,
      kind: 3,
      startTimeUnixNano: g.nanos(),
      endTimeUnixNano: g.nanos(),
      attributes: [
        kv('gen_ai.operation.name', str('chat')),
        kv('gen_ai.request.model', str('gpt-4o')),
        kv('gen_ai.response.id', str(responseId)),
        kv('gen_ai.conversation.id', str(ident(g.uuid()))),
        kv('session.id', str(sessionId)),
        kv('user.id', str(userId)),
        kv('gen_ai.response.finish_reasons', { arrayValue: { values: [str('tool_call')] } }),
        kv('gen_ai.usage.input_tokens', { intValue: String(g.int(10, 4000)) }),
        kv('app.customer.note', str(sentence('traces', 'span.attribute'))),
        kv('app.customer.card_number', { intValue: plant('traces', 'span.attribute.int', unspacedCard(g)) }),
        kv('app.tags', {
          arrayValue: { values: [str('vip'), str(sentence('traces', 'span.attribute.array'))] },
        }),
        kv('app.form', {
          kvlistValue: {
            values: [
              kv('id', str(ident(g.uuid()))),
              kv('message', str(sentence('traces', 'span.attribute.kvlist'))),
            ],
          },
        }),
        kv('gen_ai.input.messages', str(input)),
        kv('gen_ai.output.messages', str(output)),
        kv(
          'gen_ai.system_instructions',
          str(
            JSON.stringify([
              {
                type: 'text',
                content: `Escalations go to ${plant('traces', 'gen_ai.system_instructions', g.email())}`,
              },
            ]),
          ),
        ),
        kv('gen_ai.tool.call.id', str(callId)),
        kv(
          'gen_ai.tool.call.arguments',
          str(JSON.stringify({ query: sentence('traces', 'gen_ai.tool.call.arguments'), limit: 5 })),
        ),
        kv(
          'gen_ai.tool.call.result',
          str(
            JSON.stringify({
              rows: [{ id: ident(g.uuid()), contact: sentence('traces', 'gen_ai.tool.call.result') }],
            }),
          ),
        ),
        kv('gen_ai.prompt.0.role', str('user')),
        kv('gen_ai.prompt.0.content', str(sentence('traces', 'gen_ai.prompt.0.content'))),
        kv('llm.input_messages.0.message.role', str('user')),
        kv(
          'llm.input_messages.0.message.content',
          str(sentence('traces', 'llm.input_messages.0.message.content')),
        ),
        kv(
          'input.value',
          str(
            JSON.stringify({
              messages: [{ role: 'user', content: sentence('traces', 'input.value') }],
              created_at: ident(g.isoTimestamp()),
            }),
          ),
        ),
        kv('input.mime_type', str('application/json')),
      ],
      status: { code: 2, message: `upstream rejected ${sentence('traces', 'span.status.message')}` },
      events: [
        {
          timeUnixNano: g.nanos(),
          name: `retry for ${plant('traces', 'span.event.name', g.email())}`,
          attributes: [kv('exception.message', str(sentence('traces', 'span.event.attribute')))],
        },
      ],
      links: [
        {
          traceId: g.hexId(16),
          spanId: g.hexId(8),
          attributes: [kv('link.note', str(sentence('traces', 'span.link.attribute')))],
        },
      ],
    });
  }
  const traces = {
    resourceSpans: [
      {
        resource: {
          attributes: [
            kv('service.name', str('support-bot')),
            kv('deployment.owner', str(plant('traces', 'resource.attribute', g.email()))),
            kv('service.instance.id', str(ident(g.uuid()))),
          ],
        },
        scopeSpans: [
          {
            scope: {
              name: 'openai-instrumentation',
              version: '1.2.3',
              attributes: [kv('scope.maintainer', str(sentence('traces', 'scope.attribute')))],
            },
            spans: spanList,
          },
        ],
      },
    ],
  };

  // ---- metrics ------------------------------------------------------------------------------------------
  const attrs = (location: string) => [
    kv('gen_ai.request.model', str('gpt-4o')),
    kv('app.tenant', str(sentence('metrics', location))),
  ];
  const metricList: Json[] = [];
  for (let i = 0; i < spans; i++) {
    const time = g.nanos();
    metricList.push(
      {
        name: 'gen_ai.client.token.usage',
        unit: '{token}',
        metadata: [kv('owner', str(sentence('metrics', 'metric.metadata')))],
        histogram: {
          aggregationTemporality: 2,
          dataPoints: [
            {
              timeUnixNano: time,
              count: '3',
              sum: 120,
              bucketCounts: ['1', '2'],
              explicitBounds: [64],
              attributes: attrs('histogram.datapoint.attribute'),
              exemplars: [
                {
                  timeUnixNano: time,
                  asDouble: 42,
                  traceId: g.hexId(16),
                  spanId: g.hexId(8),
                  filteredAttributes: [kv('user.contact', str(sentence('metrics', 'exemplar.attribute')))],
                },
              ],
            },
          ],
        },
      },
      {
        name: 'llm.inflight',
        gauge: {
          dataPoints: [{ timeUnixNano: time, asInt: '2', attributes: attrs('gauge.datapoint.attribute') }],
        },
      },
      {
        name: 'llm.requests',
        sum: {
          aggregationTemporality: 2,
          isMonotonic: true,
          dataPoints: [{ timeUnixNano: time, asInt: '7', attributes: attrs('sum.datapoint.attribute') }],
        },
      },
      {
        name: 'llm.latency',
        exponentialHistogram: {
          aggregationTemporality: 2,
          dataPoints: [
            {
              timeUnixNano: time,
              count: '1',
              scale: 2,
              zeroCount: '0',
              attributes: attrs('exponential_histogram.datapoint.attribute'),
            },
          ],
        },
      },
      {
        name: 'llm.latency.summary',
        summary: {
          dataPoints: [
            { timeUnixNano: time, count: '1', sum: 1.5, attributes: attrs('summary.datapoint.attribute') },
          ],
        },
      },
    );
  }
  const metrics = {
    resourceMetrics: [
      {
        resource: {
          attributes: [
            kv('service.name', str('support-bot')),
            kv('deployment.owner', str(plant('metrics', 'resource.attribute', g.email()))),
          ],
        },
        scopeMetrics: [
          {
            scope: {
              name: 'llmobs',
              attributes: [kv('scope.maintainer', str(sentence('metrics', 'scope.attribute')))],
            },
            metrics: metricList,
          },
        ],
      },
    ],
  };

  // ---- logs ---------------------------------------------------------------------------------------------
  const records: Json[] = [];
  for (let i = 0; i < spans; i++) {
    const traceHex = g.hexId(16);
    records.push(
      {
        timeUnixNano: g.nanos(),
        severityNumber: 9,
        severityText: 'INFO',
        traceId: traceHex,
        spanId: g.hexId(8),
        body: str(
          `trace_id=${ident(traceHex)} request ${ident(g.uuid())} at ${ident(g.isoTimestamp())} (${ident(g.nanos())}): ${sentence('logs', 'log.body.string')}`,
        ),
        attributes: [
          kv('log.file.name', str('app.log')),
          kv('app.input', str(sentence('logs', 'log.attribute'))),
        ],
      },
      {
        timeUnixNano: g.nanos(),
        eventName: `gen_ai.user.message.${plant('logs', 'log.event_name', g.email())}`,
        body: {
          kvlistValue: {
            values: [
              kv('role', str('user')),
              kv('content', str(sentence('logs', 'log.body.kvlist'))),
              kv('id', str(ident(g.completionId()))),
            ],
          },
        },
        attributes: [kv('gen_ai.provider.name', str('openai'))],
      },
    );
  }
  const logs = {
    resourceLogs: [
      {
        resource: {
          attributes: [
            kv('service.name', str('support-bot')),
            kv('deployment.owner', str(plant('logs', 'resource.attribute', g.email()))),
          ],
        },
        scopeLogs: [
          {
            scope: {
              name: 'app',
              attributes: [kv('scope.maintainer', str(sentence('logs', 'scope.attribute')))],
            },
            logRecords: records,
          },
        ],
      },
    ],
  };

  const decode = <S extends Signal>(signal: S, obj: object) =>
    decodeRequest(signal, Buffer.from(JSON.stringify(obj)), 'json');
  return {
    traces: decode('traces', traces),
    metrics: decode('metrics', metrics),
    logs: decode('logs', logs),
    planted,
    identifiers,
    jsonKeys: [
      'gen_ai.input.messages',
      'gen_ai.output.messages',
      'gen_ai.system_instructions',
      'gen_ai.tool.call.arguments',
      'gen_ai.tool.call.result',
      'input.value',
    ],
  };
}

/** A card written as digits only, for an integer attribute. */
function unspacedCard(g: Gen): Plant {
  const c = g.card();
  const digits = c.value.replace(/\D/g, '');
  return { entity: 'credit_card', value: digits, text: digits };
}
