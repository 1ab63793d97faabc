import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SIGNALS } from '../../otlp/schema.ts';
import { buildCorpus, LOCATIONS } from './corpus.ts';
import { RedactionProcessor } from './processor.ts';
import { compile, settings, sink, wire, wireForms } from './testkit.ts';

const CONFIG = { custom_patterns: [{ name: 'employee_id', regex: 'EMP-\\d{6}' }] };

describe('labelled corpus', () => {
  for (const seed of [1, 2, 3, 42, 2026]) {
    test(`redacts 100% of planted values and harms 0 identifiers across all three signals (seed ${seed})`, async () => {
      const corpus = buildCorpus(seed, 4);
      const cfg = compile(CONFIG);
      const before = Object.fromEntries(SIGNALS.map((s) => [s, wire(s, corpus[s])]));
      for (const signal of SIGNALS) {
        const p = new RedactionProcessor(settings(), cfg, signal, sink());
        await p.consume(corpus[signal]);
      }
      const after = Object.fromEntries(SIGNALS.map((s) => [s, wire(s, corpus[s])]));

      // The corpus really planted what it claims, in every location it lists.
      for (const signal of SIGNALS) {
        const locations = new Set(corpus.planted.filter((p) => p.signal === signal).map((p) => p.location));
        assert.deepEqual([...locations].sort(), [...LOCATIONS[signal]].sort(), `${signal} locations`);
      }
      const leaked = corpus.planted.filter((p) => {
        const text = after[p.signal] ?? '';
        const planted = before[p.signal] ?? '';
        assert.ok(
          wireForms(p.value).some((f) => planted.includes(f)),
          `corpus bug: ${p.value} is not in the input`,
        );
        return wireForms(p.value).some((f) => text.includes(f));
      });
      assert.deepEqual(
        leaked.map((p) => `${p.signal} ${p.location} ${p.entity}: ${p.value}`),
        [],
        `${leaked.length} of ${corpus.planted.length} planted values leaked`,
      );
      const all = SIGNALS.map((s) => after[s]).join('\n');
      const harmed = corpus.identifiers.filter((id) => !wireForms(id).some((f) => all.includes(f)));
      assert.deepEqual(harmed, [], `${harmed.length} of ${corpus.identifiers.length} identifiers harmed`);
      assert.ok(corpus.planted.length >= 100, `a corpus of ${corpus.planted.length} plants`);
    });
  }

  test('JSON content attributes are still JSON after redaction', async () => {
    const corpus = buildCorpus(7, 3);
    await new RedactionProcessor(settings(), compile(CONFIG), 'traces', sink()).consume(corpus.traces);
    let checked = 0;
    for (const span of corpus.traces.resourceSpans[0]?.scopeSpans[0]?.spans ?? []) {
      for (const kv of span.attributes) {
        if (!corpus.jsonKeys.includes(kv.key)) continue;
        const text = kv.value?.stringValue ?? '';
        assert.doesNotThrow(() => JSON.parse(text), `${kv.key}: ${text}`);
        assert.match(text, /<[A-Z_]+>/, `${kv.key} had something redacted`);
        checked++;
      }
    }
    assert.equal(checked, 3 * corpus.jsonKeys.length);
  });
});
