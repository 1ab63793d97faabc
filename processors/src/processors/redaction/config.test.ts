import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadConfigText } from '../../config/load.ts';
import { debugExporterFactory } from '../../exporters/debug/factory.ts';
import { otlpReceiverFactory } from '../../receivers/otlp/factory.ts';
import { Registry } from '../../service/registry.ts';
import { BUILTIN_ENTITIES } from './entities.ts';
import { redactionFactory } from './factory.ts';
import { compile, redact } from './testkit.ts';

const registry = new Registry([otlpReceiverFactory, redactionFactory, debugExporterFactory]);

/** Loads a full processor config with `block` (YAML, indented 4) as the llm_redaction settings. */
function load(block: string) {
  return loadConfigText(
    `
receivers:
  otlp: { protocols: { http: { endpoint: 127.0.0.1:4318 } } }
processors:
  llm_redaction:
${block}
exporters:
  debug: {}
service:
  telemetry: { metrics: { level: none } }
  pipelines:
    traces: { receivers: [otlp], processors: [llm_redaction], exporters: [debug] }
`,
    registry,
    {},
  );
}

function keyFile(content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'llmobs-redaction-'));
  const path = join(dir, 'key');
  writeFileSync(path, content);
  return path;
}

describe('llm_redaction config', () => {
  test('an empty block is valid and selects every built-in entity, masking', () => {
    const { config, errors } = load('    {}');
    assert.deepEqual(errors, []);
    const cfg = compile();
    assert.deepEqual(cfg.entities, [...BUILTIN_ENTITIES]);
    assert.ok(config?.processors.get('llm_redaction'));
  });

  test("accepts exactly the operator CRD's entity names", () => {
    const crd = ['email', 'phone_number', 'credit_card', 'iban', 'us_ssn', 'ip_address', 'api_key', 'jwt'];
    for (const e of crd) assert.ok((BUILTIN_ENTITIES as readonly string[]).includes(e), e);
    const { errors } = load(`    entities: [${crd.join(', ')}]\n    action: mask`);
    assert.deepEqual(errors, []);
  });

  test('rejects a custom pattern with lookaround at load, naming the pattern and the construct', () => {
    const { config, errors } = load(`    custom_patterns:
      - { name: employee_id, regex: 'EMP-\\d{6}' }
      - { name: password_after, regex: '(?<=password: )\\S+' }
      - { name: not_followed, regex: 'foo(?!bar)' }
      - { name: repeated, regex: '(\\w)\\1' }`);
    assert.equal(config, undefined);
    assert.deepEqual(errors, [
      'processors.llm_redaction.custom_patterns.1.regex: pattern "password_after" uses lookbehind "(?<=", which the linear-time RE2 engine does not support; rewrite it without lookaround or backreferences (use "group" to redact only part of a match)',
      'processors.llm_redaction.custom_patterns.2.regex: pattern "not_followed" uses negative lookahead "(?!", which the linear-time RE2 engine does not support; rewrite it without lookaround or backreferences (use "group" to redact only part of a match)',
      'processors.llm_redaction.custom_patterns.3.regex: pattern "repeated" uses backreference "\\1", which the linear-time RE2 engine does not support; rewrite it without lookaround or backreferences (use "group" to redact only part of a match)',
    ]);
  });

  test('reports invalid RE2, empty matches, missing groups, duplicate and built-in names', () => {
    const { errors } = load(`    custom_patterns:
      - { name: bad, regex: '[a-' }
      - { name: empty, regex: 'x*' }
      - { name: nogroup, regex: 'id=\\d+', group: 1 }
      - { name: email, regex: 'x' }
      - { name: dup, regex: 'a' }
      - { name: dup, regex: 'b' }`);
    const has = (s: string) =>
      assert.ok(
        errors.some((e) => e.includes(s)),
        `missing "${s}" in:\n${errors.join('\n')}`,
      );
    has('custom_patterns.0.regex: pattern "bad" is not valid RE2 syntax: ');
    has('custom_patterns.1.regex: pattern "empty" matches the empty string');
    has('custom_patterns.2.regex: pattern "nogroup" has 0 capture group(s); group 1 does not exist');
    has('custom_patterns.3.name: "email" is a built-in entity; choose another name');
    has('custom_patterns.5.name: duplicate name "dup"');
    assert.deepEqual(load(`    custom_patterns: [{ name: Bad-Name, regex: c }]`).errors, [
      'processors.llm_redaction.custom_patterns.0.name: must match pattern "^[a-z][a-z0-9_]*$"',
    ]);
  });

  test('hash needs a key file of at least 16 bytes; key ids are validated', () => {
    assert.ok(
      load('    action: hash').errors.includes(
        'processors.llm_redaction.hmac.key_file: must be set when an action is hash (pseudonyms are keyed)',
      ),
    );
    assert.ok(
      load(`    actions: { email: hash }`).errors.some((e) =>
        e.endsWith('hmac.key_file: must be set when an action is hash (pseudonyms are keyed)'),
      ),
    );
    const short = keyFile('tooshort\n');
    assert.ok(
      load(`    action: hash\n    hmac: { key_file: ${short} }`).errors.includes(
        'processors.llm_redaction.hmac.key_file: key must be at least 16 bytes (got 8)',
      ),
    );
    assert.match(
      load('    action: hash\n    hmac: { key_file: /nonexistent/key }').errors.join('\n'),
      /hmac\.key_file: cannot read \/nonexistent\/key: ENOENT/,
    );
    const good = keyFile('0123456789abcdef0123456789abcdef');
    assert.ok(
      load(`    action: hash\n    hmac: { key_file: ${good}, key_id: 'has space' }`).errors.some((e) =>
        e.endsWith('hmac.key_id: must be 1–32 characters of A-Z a-z 0-9 _ -'),
      ),
    );
    assert.deepEqual(load(`    action: hash\n    hmac: { key_file: ${good}, key_id: k2026 }`).errors, []);
  });

  test('rejects unknown entities in actions, unknown keys, bad sizes and bad allowed patterns', () => {
    const { errors } = load(`    actions: { emails: drop }
    max_scan_bytes: lots
    allowed_value_patterns: ['(?=x)', '[z-']
    entity: [email]`);
    const has = (s: string) =>
      assert.ok(
        errors.some((e) => e.includes(s)),
        `missing "${s}" in:\n${errors.join('\n')}`,
      );
    has('processors.llm_redaction: has invalid keys: entity');
    const again = load(`    actions: { emails: drop }
    max_scan_bytes: lots
    allowed_value_patterns: ['(?=x)', '[z-']`).errors;
    const has2 = (s: string) =>
      assert.ok(
        again.some((e) => e.includes(s)),
        `missing "${s}" in:\n${again.join('\n')}`,
      );
    has2('actions.emails: unknown entity (valid: email, phone_number');
    has2('max_scan_bytes: invalid size "lots"');
    has2('allowed_value_patterns.0: uses lookahead "(?=", which RE2 does not support');
    has2('allowed_value_patterns.1: not valid RE2 syntax');
  });

  test('workers: inline by default, a count and a timeout when set; bad values are refused', () => {
    assert.equal(compile().workers, 0);
    const cfg = compile({ workers: 3, worker_timeout: '250ms' });
    assert.deepEqual([cfg.workers, cfg.workerTimeoutMs], [3, 250]);
    assert.match(load('    workers: -1').errors.join('\n'), /llm_redaction\.workers: must be >= 0/);
    assert.match(
      load('    worker_timeout: soon').errors.join('\n'),
      /worker_timeout: invalid duration "soon"/,
    );
  });

  test('a ReDoS-shaped custom pattern runs in linear time on its worst input and still redacts', () => {
    // (a+)+$ and (\w+\s?)*x take exponential time in a backtracking engine on these inputs.
    const cfg = compile({
      custom_patterns: [
        { name: 'nested', regex: '(a+)+$' },
        { name: 'words', regex: '(\\w+\\s?)*x' },
      ],
    });
    const attack = `${'a'.repeat(100_000)}!`;
    assert.equal(redact(cfg, attack), attack, 'no match, and the scan returns');
    assert.equal(redact(cfg, `${'a'.repeat(100_000)}`), '<NESTED>');
    const words = `${'word '.repeat(20_000)}!`;
    assert.equal(redact(cfg, words), words);
    assert.equal(redact(cfg, 'ab cd x'), '<WORDS>');
  });

  test('a custom pattern can redact one capture group, and keywords gate it', () => {
    const cfg = compile({
      entities: [],
      custom_patterns: [
        { name: 'order_note', regex: 'note=(\\w+)', group: 1 },
        { name: 'badge', regex: '\\b\\d{6}\\b', keywords: ['badge'] },
      ],
    });
    assert.equal(redact(cfg, 'a note=secretive b'), 'a note=<ORDER_NOTE> b');
    assert.equal(redact(cfg, 'badge number 123456'), 'badge number <BADGE>');
    assert.equal(redact(cfg, 'zip 123456'), 'zip 123456');
  });

  test('many custom patterns are located in one RE2Set pass and each keeps its own name', () => {
    const cfg = compile({
      entities: [],
      custom_patterns: Array.from({ length: 20 }, (_, i) => ({ name: `p${i}`, regex: `P${i}-[0-9]{4}` })),
    });
    assert.equal(redact(cfg, 'P3-1234 and P17-9999 but not P99-0000'), '<P3> and <P17> but not P99-0000');
  });

  test('min_score and context_window tune the keyword context', () => {
    const strict = compile({ entities: ['phone_number'], min_score: 0.9 });
    assert.equal(redact(strict, 'see 415-555-2671'), 'see 415-555-2671');
    assert.equal(
      redact(strict, 'call 415-555-2671'),
      'call <PHONE_NUMBER>',
      'a keyword still lifts it over 0.9',
    );
    const far = compile({ entities: ['phone_number'], context_window: 5 });
    assert.equal(
      redact(far, 'phone number is, as I said before: 4155552671'),
      'phone number is, as I said before: 4155552671',
    );
    const near = compile({ entities: ['phone_number'] });
    assert.equal(redact(near, 'phone number is: 4155552671'), 'phone number is: <PHONE_NUMBER>');
  });
});
