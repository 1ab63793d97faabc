import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CliIo, runPricesImport } from './import-cli.ts';
import { loadCatalogue } from './load.ts';

const LITELLM = JSON.stringify({
  sample_spec: { litellm_provider: 'one of https://docs.litellm.ai/docs/providers' },
  'gpt-4o': {
    input_cost_per_token: 2.5e-6,
    output_cost_per_token: 1e-5,
    litellm_provider: 'openai',
    mode: 'chat',
  },
  'gpt-4o-2024-08-06': {
    input_cost_per_token: 2.5e-6,
    output_cost_per_token: 1e-5,
    litellm_provider: 'openai',
    mode: 'chat',
  },
  'xai/grok-4': {
    input_cost_per_token: 3e-6,
    output_cost_per_token: 1.5e-5,
    litellm_provider: 'xai',
    mode: 'chat',
  },
  'whisper-1': { input_cost_per_second: 0.0001, litellm_provider: 'openai', mode: 'audio_transcription' },
});

const GENAI = `id: openai
models:
  - id: gpt-4o
    match:
      equals: gpt-4o
    prices:
      input_mtok: 2.5
      cache_read_mtok: 1.25
      output_mtok: 10
`;

function harness(files: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    readFile: async (p) => {
      const text = files[p];
      if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${p}'`);
      return text;
    },
    today: () => '2026-11-23',
  };
  return { io, stdout: () => out.join(''), stderr: () => err.join('') };
}

const URL = 'https://github.com/RoCry/llm-api-price/blob/0082afa/model_prices_and_context_window.json';

test('imports a LiteLLM file to a catalogue on stdout and a summary on stderr', async () => {
  const h = harness({ 'prices.json': LITELLM });
  const code = await runPricesImport(
    ['prices', 'import', '--format', 'litellm', '--source-url', URL, 'prices.json'],
    h.io,
  );
  assert.equal(code, 0, h.stderr());
  const cat = loadCatalogue(h.stdout(), 'stdout');
  assert.deepEqual(
    cat.models.map((m) => [m.provider, m.model, m.aliases, m.source, m.read]),
    [
      ['openai', 'gpt-4o', ['gpt-4o-2024-08-06'], URL, '2026-11-23'],
      ['x_ai', 'grok-4', undefined, URL, '2026-11-23'],
    ],
  );
  assert.match(h.stdout(), /^# llmobs price catalogue/);
  assert.match(h.stdout(), /--read-date 2026-11-23 prices\.json > catalogue\.yaml/);
  assert.match(h.stderr(), /^prices\.json: 2 models imported, 2 skipped\n/);
  assert.match(h.stderr(), /skipped 1: no per-token price \(e\.g\. whisper-1\)/);
  assert.match(h.stderr(), /catalogue: 2 models \(openai 1, x_ai 1\)/);
});

test('later files win on duplicate ids, and --only-providers keeps the providers asked for', async () => {
  const h = harness({ 'a.json': LITELLM, 'openai.yml': GENAI });
  const code = await runPricesImport(
    [
      '--format=genai-prices',
      '--source-url',
      URL,
      '--read-date',
      '2026-11-01',
      '--only-providers',
      'openai',
      'openai.yml',
    ],
    h.io,
  );
  assert.equal(code, 0, h.stderr());
  assert.equal(loadCatalogue(h.stdout(), 'stdout').models[0]?.read, '2026-11-01');

  const merged = harness({
    'a.json': LITELLM,
    'b.json': JSON.stringify({
      'gpt-4o-2024-08-06': {
        input_cost_per_token: 3e-6,
        output_cost_per_token: 1e-5,
        litellm_provider: 'openai',
        mode: 'chat',
      },
    }),
  });
  assert.equal(
    await runPricesImport(['--format', 'litellm', '--source-url', URL, 'a.json', 'b.json'], merged.io),
    0,
  );
  const models = loadCatalogue(merged.stdout(), 'stdout').models;
  assert.equal(
    models.find((m) => m.model === 'gpt-4o')?.aliases,
    undefined,
    'the alias went to the later entry',
  );
  assert.equal(models.find((m) => m.model === 'gpt-4o-2024-08-06')?.prices[0]?.input, 3);
});

test('usage errors exit 2 and unreadable files exit 1, with a message on stderr', async () => {
  const missing = harness({});
  assert.equal(await runPricesImport(['--format', 'litellm', 'x.json'], missing.io), 2);
  assert.match(missing.stderr(), /--source-url is required/);
  assert.equal(await runPricesImport(['--format', 'csv', '--source-url', URL, 'x.json'], missing.io), 2);
  assert.equal(
    await runPricesImport(['--format', 'litellm', '--source-url', 'file:///x', 'x.json'], missing.io),
    2,
  );
  assert.equal(
    await runPricesImport(
      ['--format', 'litellm', '--source-url', URL, '--read-date', '1/2/26', 'x'],
      missing.io,
    ),
    2,
  );
  const unreadable = harness({});
  assert.equal(
    await runPricesImport(['--format', 'litellm', '--source-url', URL, 'nope.json'], unreadable.io),
    1,
  );
  assert.match(unreadable.stderr(), /nope\.json: ENOENT/);
  const help = harness({});
  assert.equal(await runPricesImport(['--help'], help.io), 0);
  assert.match(help.stdout(), /^usage: llmobs-processor prices import/);
});
