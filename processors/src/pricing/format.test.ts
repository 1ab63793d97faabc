import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Catalogue } from './catalogue.ts';
import { formatCatalogueYaml } from './format.ts';
import { loadCatalogue, shippedCatalogue } from './load.ts';

test('a formatted catalogue reads back unchanged, the shipped one included', () => {
  const shipped = shippedCatalogue();
  assert.deepEqual(loadCatalogue(formatCatalogueYaml(shipped, ['header']), 'round-trip'), shipped);
});

test('ids YAML would read as something else are quoted; periods, tiers and per_hour are written', () => {
  const cat: Catalogue = {
    currency: 'USD',
    models: [
      {
        provider: 'openai',
        model: 'gpt-4o:extended',
        aliases: ['true', '1e3', 'null'],
        source: 'https://example.com/a b',
        read: '2026-11-23',
        prices: [
          { input: 6, output: 18 },
          {
            effective_from: '2026-01-01',
            input: 1.25e-7,
            context_tiers: [{ above: 200000, input: 2 }],
            service_tiers: { flex: { input: 0.5 } },
          },
        ],
      },
      {
        provider: 'self',
        model: 'llama-70b',
        source: 'https://example.com',
        read: '2026-11-23',
        prices: [{ per_hour: 4.5 }],
      },
    ],
  };
  const text = formatCatalogueYaml(cat, ['first line', '', 'third']);
  assert.ok(text.startsWith('# first line\n#\n# third\n\ncurrency: USD\nmodels:\n  # openai\n'));
  assert.match(text, /model: "gpt-4o:extended"\n {4}aliases: \["true", "1e3", "null"\]/);
  assert.match(text, / {10}- \{above: 200000, input: 2\}/);
  assert.deepEqual(loadCatalogue(text, 'test'), cat);
});
