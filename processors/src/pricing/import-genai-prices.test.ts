import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as yaml from 'js-yaml';
import type { ModelEntry } from './catalogue.ts';
import type { ImportResult } from './import-common.ts';
import { importGenaiPrices } from './import-genai-prices.ts';
import { validateCatalogue } from './load.ts';

// Shaped after pydantic/genai-prices prices/providers/*.yml (google.yml @0b2c115, openai.yml @01d6df8,
// anthropic.yml, .schema.json @69b7f1b). Conditional and 1 h cache prices follow the schema; their values
// are illustrative.
const GOOGLE = `# yaml-language-server: $schema=.schema.json
name: Google
id: google
pricing_url: https://ai.google.dev/gemini-api/docs/pricing
api_pattern: 'https://(.*\\.)?googleapis\\.com'
models:
  - id: gemini-1.5-pro
    name: gemini 1.5 Pro
    match:
      contains: gemini-1.5-pro
    max_tokens: 1000000
    prices_checked: true
    prices:
      input_mtok:
        base: 1.25
        tiers:
          - start: 128000
            price: 2.50
      output_mtok:
        base: 5.00
        tiers:
          - start: 128000
            price: 10.00

  - id: gemini-2.0-flash
    match:
      or:
        - contains: gemini-2.0-flash # TODO remove this
        - equals: gemini-2.0-flash-001
        - equals: gemini-2.0-flash-exp:free
    max_tokens: 1000000
    prices:
      input_mtok: 0.1
      output_mtok: 0.4
    price_discrepancies:
      litellm:
        input_mtok: 0
        output_mtok: 0

  - id: gemini-2.5-flash
    match:
      equals: gemini-2.5-flash
    prices_checked: 2025-07-04
    prices:
      input_mtok: 0.3
      input_audio_mtok: 1
      cache_read_mtok: 0.075
      output_mtok: 2.5

  - id: gemini-1.0-pro
    match:
      equals: gemini-1.0-pro
    removed: true
    prices:
      input_mtok: 0.125
      output_mtok: 0.375
`;

const ANTHROPIC = `name: Anthropic
id: anthropic
models:
  - id: claude-opus-4-5
    match:
      or:
        - equals: claude-opus-4-5
        - equals: claude-opus-4-5-20251101
    prices:
      input_mtok: 5
      cache_write_mtok: 6.25
      cache_write_1h_mtok: 10
      cache_read_mtok: 0.5
      output_mtok: 25
      tool_use_kcount:
        web_search: 10
  - id: claude-3-5-haiku-latest
    match:
      starts_with: claude-3-5-haiku
    prices:
      input_mtok: 0.8
      cache_write_mtok: 1
      cache_read_mtok: 0.08
      output_mtok: 4
`;

const DEEPSEEK = `name: Deepseek
id: deepseek
models:
  - id: deepseek-chat
    match:
      equals: deepseek-chat
    prices:
      - prices:
          input_mtok: 0.27
          output_mtok: 1.1
      - constraint:
          start_time: '16:30:00Z'
          end_time: '00:30:00Z'
        prices:
          input_mtok: 0.135
          output_mtok: 0.55
      - constraint:
          start_date: 2025-09-05
        prices:
          input_mtok: 0.28
          cache_read_mtok: 0.028
          output_mtok: 0.42
  - id: deepseek-prober
    match:
      equals: deepseek-prober
    prices:
      requests_kcount: 1
`;

const OPTIONS = {
  source: 'https://github.com/pydantic/genai-prices/blob/0b2c115/prices/providers/google.yml',
  read: '2026-11-23',
};

function run(text: string, extra: { provider?: string } = {}): ImportResult {
  return importGenaiPrices(yaml.load(text, { schema: yaml.CORE_SCHEMA }), { ...OPTIONS, ...extra });
}

function entry(r: ImportResult, model: string): ModelEntry {
  const e = r.models.find((m) => m.model === model);
  assert.ok(e, `no ${model}; have ${r.models.map((m) => m.model).join(', ')}`);
  return e;
}

test('tiered prices become cliff context tiers at their start, merged across buckets', () => {
  const google = run(GOOGLE);
  const pro = entry(google, 'gemini-1.5-pro');
  assert.equal(pro.provider, 'gcp.gemini');
  assert.deepEqual(pro.prices, [
    { input: 1.25, output: 5, context_tiers: [{ above: 128000, input: 2.5, output: 10 }] },
  ]);
  assert.equal(pro.source, OPTIONS.source);
  assert.equal(pro.read, '2026-11-23');
  assert.deepEqual(validateCatalogue({ currency: 'USD', models: google.models }), []);
});

test('per-MTok prices map onto buckets: audio, cache read, 5 min and 1 h cache writes', () => {
  assert.deepEqual(entry(run(GOOGLE), 'gemini-2.5-flash').prices, [
    { input: 0.3, output: 2.5, cache_read: 0.075, audio_input: 1 },
  ]);
  const anthropic = run(ANTHROPIC);
  assert.deepEqual(entry(anthropic, 'claude-opus-4-5').prices, [
    { input: 5, output: 25, cache_read: 0.5, cache_write_5m: 6.25, cache_write_1h: 10 },
  ]);
  assert.ok(
    anthropic.notes.includes(
      'dropped tool_use_kcount on 1 model(s) (no catalogue bucket for it): claude-opus-4-5',
    ),
  );
});

test('exact ids in match become aliases; pattern clauses are reported, not guessed', () => {
  const google = run(GOOGLE);
  assert.deepEqual(entry(google, 'gemini-2.0-flash').aliases, [
    'gemini-2.0-flash-001',
    'gemini-2.0-flash-exp:free',
  ]);
  assert.ok(
    google.notes.includes(
      'dropped match clause "contains" on 2 model(s) (only exact (equals) ids become aliases): gemini-1.5-pro, gemini-2.0-flash',
    ),
  );
  const anthropic = run(ANTHROPIC);
  assert.deepEqual(entry(anthropic, 'claude-opus-4-5').aliases, ['claude-opus-4-5-20251101']);
  assert.equal(entry(anthropic, 'claude-3-5-haiku-latest').aliases, undefined);
});

test('historic prices become periods by start date; time-of-day prices are dropped and reported', () => {
  const ds = run(DEEPSEEK);
  const chat = entry(ds, 'deepseek-chat');
  assert.equal(chat.provider, 'deepseek');
  assert.deepEqual(chat.prices, [
    { input: 0.27, output: 1.1 },
    { effective_from: '2025-09-05', input: 0.28, output: 0.42, cache_read: 0.028 },
  ]);
  assert.ok(ds.notes.some((n) => n.startsWith('dropped time-of-day price on 1 model(s)')));
  assert.deepEqual(validateCatalogue({ currency: 'USD', models: ds.models }), []);
});

test('models without token prices, and removed ones, are skipped with the reason', () => {
  assert.deepEqual(run(DEEPSEEK).skipped, [{ id: 'deepseek-prober', reason: 'no token prices' }]);
  assert.deepEqual(run(GOOGLE).skipped, [{ id: 'gemini-1.0-pro', reason: 'marked removed in genai-prices' }]);
  assert.ok(run(DEEPSEEK).notes.some((n) => n.startsWith('dropped requests_kcount on 1 model(s)')));
});

test('the provider comes from the file id unless given, and a file without models is reported', () => {
  assert.equal(
    entry(run(GOOGLE, { provider: 'gcp.vertex_ai' }), 'gemini-2.5-flash').provider,
    'gcp.vertex_ai',
  );
  assert.equal(entry(run(ANTHROPIC), 'claude-opus-4-5').provider, 'anthropic');
  assert.deepEqual(importGenaiPrices({ id: 'x' }, OPTIONS).skipped, [
    { id: '(file)', reason: 'not a genai-prices provider file (no models list)' },
  ]);
});
