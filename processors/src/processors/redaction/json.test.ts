import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { fuzzOptions } from '../../otlp/fuzz-options.ts';
import { isJson } from './json.ts';
import { compile, redact } from './testkit.ts';

const cfg = compile({ custom_patterns: [{ name: 'employee_id', regex: 'EMP-\\d{6}' }] });

/** The value with every string replaced by its type, for comparing shapes. */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(shape);
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k.startsWith('<') ? '<key>' : k, shape(x)]));
  return typeof v === 'number' || typeof v === 'string' ? 'scalar' : v;
}

describe('JSON-aware redaction', () => {
  test('redacts gen_ai.input.messages leaf by leaf; roles, ids and finish reasons are untouched', () => {
    const input = [
      { role: 'system', parts: [{ type: 'text', content: 'Escalate to ops@example.com.' }] },
      {
        role: 'user',
        parts: [{ type: 'text', content: 'My card is 4111 1111 1111 1111, call +1 415 555 2671' }],
      },
      {
        role: 'assistant',
        parts: [
          {
            type: 'tool_call',
            id: 'call_4155552671',
            name: 'lookup',
            arguments: { email: 'bob@example.org' },
          },
        ],
        finish_reason: 'tool_call',
      },
    ];
    const out = JSON.parse(redact(cfg, JSON.stringify(input), 'gen_ai.input.messages'));
    assert.deepEqual(shape(out), shape(input));
    assert.equal(out[0].parts[0].content, 'Escalate to <EMAIL>.');
    assert.equal(out[1].parts[0].content, 'My card is <CREDIT_CARD>, call <PHONE_NUMBER>');
    assert.equal(out[2].parts[0].arguments.email, '<EMAIL>');
    assert.deepEqual(
      [out[0].role, out[1].role, out[2].role, out[2].finish_reason, out[2].parts[0].id, out[2].parts[0].type],
      ['system', 'user', 'assistant', 'tool_call', 'call_4155552671', 'tool_call'],
    );
  });

  test('values under structural keys are never scanned, even when they look like an entity', () => {
    const text =
      '{"role":"ops@example.com","type":"415-555-2671","finish_reasons":["a@b.io"],"content":"ops@example.com"}';
    assert.equal(redact(cfg, text), text.replace('"content":"ops@example.com"', '"content":"<EMAIL>"'));
  });

  test('keeps formatting, key order and non-string values byte for byte', () => {
    const text = '{\n  "z": 1.50,\n  "a": [true, null, 1e3],\n  "msg": "mail a@example.com",\n  "n": -0\n}';
    assert.equal(redact(cfg, text), text.replace('a@example.com', '<EMAIL>'));
  });

  test('follows tool-call arguments that are JSON inside a JSON string (hermes-agent #42846)', () => {
    const output = JSON.stringify([
      {
        role: 'assistant',
        tool_calls: [
          {
            id: 'call_abc',
            type: 'function',
            function: {
              name: 'send',
              arguments: JSON.stringify({ to: 'eve@example.com', body: 'EMP-123456 says hi' }),
            },
          },
        ],
      },
    ]);
    const out = JSON.parse(redact(cfg, output, 'gen_ai.output.messages'));
    const args = JSON.parse(out[0].tool_calls[0].function.arguments);
    assert.deepEqual(args, { to: '<EMAIL>', body: '<EMPLOYEE_ID> says hi' });
    assert.equal(out[0].tool_calls[0].id, 'call_abc');
  });

  test('output stays valid when an entity sits next to quotes and escapes (kcap-cli #681)', () => {
    const text = JSON.stringify({ content: 'He said "mail me: \\"x@example.com\\"" and left\n\ttabs' });
    const out = redact(cfg, text);
    assert.doesNotThrow(() => JSON.parse(out), out);
    assert.equal(JSON.parse(out).content, 'He said "mail me: \\"<EMAIL>\\"" and left\n\ttabs');
  });

  test('a number that is an entity becomes a string token; other numbers stay numbers', () => {
    const out = JSON.parse(redact(cfg, '{"card": 4111111111111111, "tokens": 1234567, "ts": 1715000000000}'));
    assert.deepEqual(out, { card: '<CREDIT_CARD>', tokens: 1234567, ts: 1715000000000 });
  });

  test('an entity in a key is redacted and keys stay unique', () => {
    const out = JSON.parse(redact(cfg, '{"a@example.com": 1, "b@example.com": 2, "ok": 3}'));
    assert.deepEqual(Object.values(out), [1, 2, 3]);
    assert.deepEqual(Object.keys(out), ['<EMAIL>', '<EMAIL>#2', 'ok']);
  });

  test('values under secret-named keys are replaced whole', () => {
    const out = JSON.parse(
      redact(cfg, '{"user":"al","password":"correct horse","nested":{"api_key":["k1","k2"]}}'),
    );
    assert.deepEqual(out, {
      user: 'al',
      password: '<SECRET>',
      nested: { api_key: ['<SECRET>', '<SECRET>'] },
    });
  });

  test('ids inside JSON only get self-identifying entities checked', () => {
    const out = JSON.parse(
      redact(
        cfg,
        '{"id":"415-555-2671","session_id":"415-555-2671","user_id":"me@example.com","note":"415-555-2671"}',
      ),
    );
    assert.deepEqual(out, {
      id: '415-555-2671',
      session_id: '415-555-2671',
      user_id: '<EMAIL>',
      note: '<PHONE_NUMBER>',
    });
  });

  test('text that only looks like JSON is scanned as plain text', () => {
    assert.equal(redact(cfg, '{not json, mail x@example.com'), '{not json, mail <EMAIL>');
    assert.equal(redact(cfg, '[1, 2'), '[1, 2');
  });

  test('OpenLLMetry and OpenInference flattened keys: content redacted, role kept', () => {
    assert.equal(redact(cfg, 'x@example.com', 'gen_ai.prompt.0.content'), '<EMAIL>');
    assert.equal(redact(cfg, 'x@example.com', 'gen_ai.prompt.0.role'), 'x@example.com');
    assert.equal(redact(cfg, 'x@example.com', 'llm.output_messages.0.message.role'), 'x@example.com');
    assert.equal(redact(cfg, 'stop', 'gen_ai.completion.0.finish_reason'), 'stop');
  });

  test('keeps the escapes of a literal as written around a token (no re-encoding of the rest)', () => {
    const text = '{"content":"caf\\u00e9 \\/ mail x@example.com\\n\\"bye\\" \\ud83d\\ude00 y@example.org"}';
    assert.equal(
      redact(cfg, text),
      '{"content":"caf\\u00e9 \\/ mail <EMAIL>\\n\\"bye\\" \\ud83d\\ude00 <EMAIL>"}',
    );
    assert.equal(JSON.parse(redact(cfg, text)).content, 'café / mail <EMAIL>\n"bye" 😀 <EMAIL>');
  });

  test('an entity right after escapes is cut at the same characters as in the decoded text', () => {
    const value = `${'\\"\n\u2028'.repeat(50)}a@example.com\t\u0001b@example.com`;
    const out = JSON.parse(redact(cfg, JSON.stringify({ m: value })));
    assert.equal(out.m, `${'\\"\n\u2028'.repeat(50)}<EMAIL>\t\u0001<EMAIL>`);
  });

  test('tells JSON from near-JSON exactly as JSON.parse does', () => {
    const near = [
      '[1,]',
      '{"a":1,}',
      '{"a" 1}',
      '{"a":1 "b":2}',
      '[01]',
      '[1.]',
      '[.5]',
      '[1e]',
      '[-]',
      '["a\nb"]',
      '["\\x"]',
      '["\\u12g4"]',
      '["abc]',
      '["abc\\"]',
      '[tru]',
      '[truex]',
      '{"a":[}',
      '[1]]',
      '[1] x',
      '{1:2}',
      '[',
      '{',
    ];
    for (const t of near) assert.equal(isJson(t), false, t);
    const valid = ['[]', '{}', ' [ 1 , -0.5e+3 , "\\u00e9\\\\" , true , null , false ] ', '{"a":{"b":[{}]}}'];
    for (const t of valid) assert.equal(isJson(t), true, t);
  });

  test('agrees with JSON.parse on generated JSON and on every one-character corruption of it', () => {
    const accepts = (t: string) => {
      try {
        JSON.parse(t);
        return true;
      } catch {
        return false;
      }
    };
    const chars = [
      '"',
      '\\',
      ',',
      ':',
      '[',
      ']',
      '{',
      '}',
      ' ',
      '\n',
      '0',
      '-',
      '.',
      'e',
      'u',
      'a',
      '\u0001',
    ];
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 4 }),
        fc.boolean(),
        fc.nat(),
        fc.constantFrom(...chars),
        fc.constantFrom('insert', 'replace', 'delete'),
        (v, pretty, at, ch, edit) => {
          const t = JSON.stringify(v, null, pretty ? 2 : undefined);
          const k = at % (t.length + 1);
          const bad =
            edit === 'insert'
              ? t.slice(0, k) + ch + t.slice(k)
              : edit === 'replace'
                ? t.slice(0, k) + ch + t.slice(k + 1)
                : t.slice(0, k) + t.slice(k + 1);
          assert.equal(isJson(t), true, t);
          assert.equal(isJson(bad), accepts(bad), bad);
        },
      ),
      fuzzOptions(3000),
    );
  });
});
