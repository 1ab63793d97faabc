import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ModelEntry } from './catalogue.ts';
import { CatalogueError, loadCatalogue, shippedCatalogue, validateCatalogue } from './load.ts';

function find(provider: string, id: string): ModelEntry | undefined {
  return shippedCatalogue().models.find(
    (m) => m.provider === provider && (m.model === id || m.aliases?.includes(id)),
  );
}

test('the shipped catalogue loads and every entry names a URL source and the ISO date it was read', () => {
  const cat = shippedCatalogue();
  assert.equal(cat.currency, 'USD');
  assert.ok(cat.models.length >= 80, `${cat.models.length} models`);
  for (const m of cat.models) {
    assert.match(m.source, /^https:\/\/\S+$/, `${m.provider}/${m.model} source`);
    assert.match(m.read, /^\d{4}-\d{2}-\d{2}$/, `${m.provider}/${m.model} read`);
    assert.ok(!Number.isNaN(Date.parse(m.read)));
  }
  assert.equal(shippedCatalogue(), cat, 'loaded once and cached');
});

test('the shipped catalogue covers every provider the processor targets, Llama on several hosts', () => {
  const providers = new Set(shippedCatalogue().models.map((m) => m.provider));
  for (const p of [
    'openai',
    'anthropic',
    'gcp.gemini',
    'gcp.vertex_ai',
    'mistral_ai',
    'cohere',
    'x_ai',
    'deepseek',
    'aws.bedrock',
    'azure.ai.openai',
    'groq',
    'together_ai',
  ])
    assert.ok(providers.has(p), `no model for provider ${p}`);
  for (const host of ['groq', 'together_ai', 'aws.bedrock']) {
    assert.ok(
      shippedCatalogue().models.some((m) => m.provider === host && m.model.includes('llama')),
      `no Llama model hosted on ${host}`,
    );
  }
  assert.ok(find('aws.bedrock', 'amazon.nova-pro'), 'Amazon Nova on Bedrock');
});

test('the shipped catalogue keeps the facts cost computation depends on', () => {
  const gpt4o = find('openai', 'gpt-4o');
  assert.deepEqual(gpt4o?.prices[0]?.input, 2.5);
  assert.deepEqual(gpt4o?.prices[0]?.service_tiers, {
    batch: { input: 1.25, output: 5 },
    priority: { input: 4.25, output: 17, cache_read: 2.125 },
  });
  assert.ok(gpt4o?.aliases?.includes('gpt-4o-2024-08-06'), 'a snapshot priced like its alias is an alias');
  const may = find('openai', 'gpt-4o-2024-05-13');
  assert.equal(may?.model, 'gpt-4o-2024-05-13', 'a snapshot priced differently is its own entry');
  assert.equal(may?.prices[0]?.input, 5);
  assert.equal(may?.prices[0]?.output, 15);

  const sonnet4 = find('anthropic', 'claude-sonnet-4-20250514')?.prices[0];
  assert.equal(sonnet4?.cache_write_1h, 6);
  assert.deepEqual(sonnet4?.context_tiers?.[0], {
    above: 200000,
    input: 6,
    output: 22.5,
    cache_read: 0.6,
    cache_write_5m: 7.5,
  });
  assert.equal(find('gcp.gemini', 'gemini-2.5-pro')?.prices[0]?.context_tiers?.[0]?.above, 200000);
  assert.equal(find('deepseek', 'deepseek-chat')?.prices[0]?.cache_read, 0.028);
  assert.equal(
    find('aws.bedrock', 'anthropic.claude-sonnet-4-20250514-v1:0')?.model,
    'anthropic.claude-sonnet-4-20250514',
    'Bedrock ids lose -v1:0 and keep the full id as an alias',
  );
});

const ENTRY = `
  - provider: openai
    model: gpt-test
    source: https://example.com/prices
    read: "2026-11-23"
    prices:`;

function problemsOf(yaml: string): string[] {
  try {
    loadCatalogue(yaml, 'test.yaml');
  } catch (err) {
    assert.ok(err instanceof CatalogueError);
    assert.match(err.message, /^test\.yaml: invalid price catalogue/);
    return [...err.problems];
  }
  return [];
}

test('context tiers out of order name the tier and the previous threshold', () => {
  const problems = problemsOf(`currency: USD
models:${ENTRY}
      - input: 1
        context_tiers:
          - {above: 200000, input: 2}
          - {above: 128000, input: 3}
`);
  assert.deepEqual(problems, [
    'models[0].prices[0].context_tiers[1].above: must be > previous tier (200000)',
  ]);
});

test('negative, non-finite and missing prices are reported with their path', () => {
  assert.deepEqual(
    problemsOf(`currency: USD
models:${ENTRY}
      - input: -1
`),
    ['models[0].prices[0].input: must be >= 0'],
  );
  assert.deepEqual(
    problemsOf(`currency: USD
models:${ENTRY}
      - input: .inf
`),
    ['models[0].prices[0].input: must be a finite number'],
  );
  assert.deepEqual(
    problemsOf(`currency: USD
models:${ENTRY}
      - effective_from: "2025-01-01"
`),
    ['models[0].prices[0]: must have at least one token price or per_hour'],
  );
});

test('dates must be ISO calendar dates and periods must ascend', () => {
  assert.deepEqual(
    problemsOf(`currency: USD
models:
  - provider: openai
    model: gpt-test
    source: https://example.com/prices
    read: 23/11/2026
    prices:
      - input: 1
`),
    ['models[0].read: must be an ISO date (YYYY-MM-DD)'],
  );
  assert.deepEqual(
    problemsOf(`currency: USD
models:${ENTRY}
      - input: 1
      - {effective_from: "2026-02-30", input: 2}
`),
    ['models[0].prices[1].effective_from: "2026-02-30" is not a calendar date'],
  );
  assert.deepEqual(
    problemsOf(`currency: USD
models:${ENTRY}
      - input: 1
      - {effective_from: "2026-06-01", input: 2}
      - {effective_from: "2026-01-01", input: 3}
`),
    ['models[0].prices[2].effective_from: must be after the previous period (2026-06-01)'],
  );
  assert.deepEqual(
    problemsOf(`currency: USD
models:${ENTRY}
      - input: 1
      - input: 2
`),
    ['models[0].prices[1].effective_from: must be set on every period but the first'],
  );
});

test('an id may be claimed once per provider, by a model or an alias, in lower case', () => {
  const problems = problemsOf(`currency: USD
models:${ENTRY}
      - input: 1
  - provider: openai
    model: gpt-test-2
    aliases: [gpt-test, GPT-Test-3]
    source: https://example.com/prices
    read: "2026-11-23"
    prices:
      - input: 1
  - provider: azure.ai.openai
    model: gpt-test
    source: https://example.com/prices
    read: "2026-11-23"
    prices:
      - input: 1
`);
  assert.deepEqual(problems, [
    'models[1].aliases[0]: "gpt-test" of provider openai is already defined at models[0].model',
    'models[1].aliases[1]: must be lower case ("gpt-test-3")',
  ]);
});

test('structural problems name the path: unknown keys, missing fields, bad service tiers', () => {
  const problems = problemsOf(`currency: usd
models:
  - provider: openai
    model: gpt-test
    read: "2026-11-23"
    prices:
      - input: 1
        cache_writes: 2
        service_tiers:
          turbo: {input: 2}
`);
  assert.deepEqual(problems.sort(), [
    'currency: must be an ISO 4217 code such as USD',
    'models[0].prices[0].service_tiers: unknown key "turbo"',
    'models[0].prices[0]: unknown key "cache_writes"',
    'models[0].source: must be set',
  ]);
});

test('unparseable text is reported as such, JSON is accepted as well as YAML', () => {
  const [parseError, ...more] = problemsOf('currency: [USD');
  assert.match(parseError ?? '', /^not valid YAML or JSON: unexpected end of the stream/);
  assert.equal(more.length, 0);
  const json = JSON.stringify({
    currency: 'USD',
    models: [
      { provider: 'p', model: 'm', source: 'https://x', read: '2026-11-23', prices: [{ per_hour: 4.1 }] },
    ],
  });
  assert.equal(loadCatalogue(json, 'c.json').models[0]?.prices[0]?.per_hour, 4.1);
  assert.deepEqual(validateCatalogue({ currency: 'USD', models: [] }), []);
});
