import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Gen } from './corpus.ts';
import { compile, redact } from './testkit.ts';

// Property tests with a seeded generator (fast-check is not a dependency): each case prints its
// seed and index on failure, and the same seed rebuilds the same case.
const CASES = 400;
const CUSTOM = { custom_patterns: [{ name: 'employee_id', regex: 'EMP-\\d{6}' }] };

function keyFile(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'llmobs-prop-')), 'key');
  writeFileSync(path, 'property-test-key-0123456789abcdef');
  return path;
}

/**
 * Surrounding text: words, numbers, punctuation, JSON and markup fragments, non-ASCII and
 * identifiers. Words that lower a detector's confidence (version, order, …) are left out: with
 * them nearby a bare phone or a dotted quad is meant to be kept.
 */
function noise(g: Gen): string {
  const parts: string[] = [];
  const n = g.int(0, 6);
  for (let i = 0; i < n; i++) {
    parts.push(
      g.pick([
        () =>
          g.pick([
            'hello',
            'the',
            'customer',
            'said',
            'please',
            'thanks',
            'ok',
            'Ärger',
            '日本語',
            '🙂',
            'naïve',
          ]),
        () => g.chars(g.int(1, 8), 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'),
        () => g.chars(g.int(1, 5), '0123456789'),
        () =>
          g.pick([
            '{"a":',
            '[1,',
            '}',
            ']',
            '<b>',
            '</b>',
            '&amp;',
            '\\n',
            '"',
            "'",
            '::',
            '->',
            '==',
            '%',
            '#',
            '@',
          ]),
        () => g.uuid(),
        () => g.isoTimestamp(),
        () => g.hexId(16),
        () => g.pick([' ', '  ', '\n', '\t', ', ', '. ']),
      ])(),
    );
  }
  return parts.join(g.pick([' ', '', '\n']));
}

const LEFT = [' ', '\n', '\t', '(', '"', "'", '[', '{', ',', ';', '=', '|', '>'];
const RIGHT = [' ', '\n', ',', ';', ')', '"', "'", ']', '}', '!', '?', '<'];

function caseText(g: Gen, plants: string[]): string {
  let text = noise(g);
  for (const p of plants) text += g.pick(LEFT) + p + g.pick(RIGHT) + noise(g);
  return text;
}

describe('properties', () => {
  for (const seed of [11, 12, 13]) {
    test(`a planted value never survives, whatever the surrounding text (seed ${seed})`, () => {
      const g = new Gen(seed);
      const cfg = compile(CUSTOM);
      for (let i = 0; i < CASES; i++) {
        const plants = Array.from({ length: g.int(1, 3) }, () => g.any());
        const text = caseText(
          g,
          plants.map((p) => p.text),
        );
        const out = redact(cfg, text);
        for (const p of plants)
          assert.ok(
            !out.includes(p.value),
            `case ${i}: ${p.entity} ${JSON.stringify(p.value)} survived in\n${JSON.stringify(text)}\n→ ${JSON.stringify(out)}`,
          );
      }
    });
  }

  test('a planted value never survives inside a JSON message either', () => {
    const g = new Gen(21);
    const cfg = compile(CUSTOM);
    for (let i = 0; i < CASES; i++) {
      const plants = Array.from({ length: g.int(1, 3) }, () => g.any());
      const messages = plants.map((p, j) => ({
        role: j % 2 ? 'assistant' : 'user',
        content: caseText(g, [p.text]),
      }));
      const text = JSON.stringify(messages);
      const out = redact(cfg, text, 'gen_ai.input.messages');
      const parsed = JSON.parse(out) as { role: string; content: string }[];
      assert.deepEqual(
        parsed.map((m) => m.role),
        messages.map((m) => m.role),
        `case ${i}: roles kept`,
      );
      for (const p of plants)
        assert.ok(
          !parsed.some((m) => m.content.includes(p.value)),
          `case ${i}: ${p.value} survived in ${out}`,
        );
    }
  });

  for (const [name, block] of [
    ['mask', CUSTOM],
    ['hash', { ...CUSTOM, action: 'hash', hmac: { key_file: keyFile(), key_id: 'p1' } }],
  ] as const) {
    test(`redaction is idempotent (${name})`, () => {
      const g = new Gen(31);
      const cfg = compile(block);
      for (let i = 0; i < CASES; i++) {
        const plants = Array.from({ length: g.int(0, 3) }, () => g.any().text);
        const text =
          g.random() < 0.3
            ? JSON.stringify({ content: caseText(g, plants), n: g.int(0, 9) })
            : caseText(g, plants);
        const once = redact(cfg, text);
        assert.equal(redact(cfg, once), once, `case ${i}: ${JSON.stringify(text)}`);
      }
    });
  }

  test('identifiers are never changed: UUIDs, W3C trace and span ids, ISO and epoch timestamps', () => {
    const g = new Gen(41);
    const cfg = compile(CUSTOM);
    for (let i = 0; i < 2000; i++) {
      const ids = [
        g.uuid(),
        g.hexId(16),
        g.hexId(8),
        g.isoTimestamp(),
        g.nanos(),
        g.nanos().slice(0, 13),
        g.completionId(),
        g.callId(),
      ];
      const text = ids.join(g.pick([' ', '\n', ', ', ' | ']));
      assert.equal(redact(cfg, text), text, `case ${i}`);
    }
  });
});
