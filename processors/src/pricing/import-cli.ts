import { readFile } from 'node:fs/promises';
import * as yaml from 'js-yaml';
import type { Catalogue, ModelEntry } from './catalogue.ts';
import { formatCatalogueYaml } from './format.ts';
import type { ImportResult, SkippedEntry } from './import-common.ts';
import { importGenaiPrices } from './import-genai-prices.ts';
import { importLiteLLM } from './import-litellm.ts';
import { validateCatalogue } from './load.ts';

/**
 * `llmobs-processor prices import --format litellm|genai-prices --source-url URL [--read-date YYYY-MM-DD]
 * [--provider NAME] [--no-collapse] [--comment TEXT]... [--verbose] FILE... > catalogue.yaml`
 *
 * Converts price files in LiteLLM's or genai-prices' format into one catalogue (later files win on
 * duplicate ids), writes it as YAML to stdout and a summary of what was imported, skipped and dropped to
 * stderr. Exit status 0 on success, 1 when a file cannot be read or the result is invalid, 2 on usage errors.
 */

export const USAGE = `usage: llmobs-processor prices import --format litellm|genai-prices --source-url URL
         [--read-date YYYY-MM-DD] [--provider NAME] [--only-providers A,B,...] [--no-collapse]
         [--comment TEXT]... [--verbose] FILE... > catalogue.yaml

  --format       litellm: BerriAI/litellm model_prices_and_context_window.json
                 genai-prices: a pydantic/genai-prices prices/providers/<id>.yml file
  --source-url   where the files were read (a URL pinned to a commit); recorded on every entry
  --read-date    when they were read (default: today, UTC); recorded on every entry
  --provider     genai-prices only: provider name to use instead of mapping the file's id
  --only-providers  keep only these providers (gen_ai.provider.name spelling, comma-separated)
  --no-collapse  keep dated snapshots priced like their alias as separate entries
  --comment      a line for the header comment of the output (repeatable)
  --verbose      list every skipped entry instead of a summary
  FILE           one or more files; - reads stdin. Later files win on duplicate ids.`;

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly readFile: (path: string) => Promise<string>;
  readonly today: () => string;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  return Buffer.concat(chunks).toString('utf8');
}

const DEFAULT_IO: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  readFile: (p) => (p === '-' ? readStdin() : readFile(p, 'utf8')),
  today: () => new Date().toISOString().slice(0, 10),
};

interface Args {
  format: 'litellm' | 'genai-prices';
  sourceUrl: string;
  readDate: string;
  provider?: string;
  onlyProviders?: Set<string>;
  collapse: boolean;
  comments: string[];
  verbose: boolean;
  files: string[];
}

function parseArgs(argv: readonly string[], today: string): Args | string {
  const rest = [...argv];
  // Accept the subcommand words too, so `runPricesImport(process.argv.slice(2))` works.
  if (rest[0] === 'prices') rest.shift();
  if (rest[0] === 'import') rest.shift();
  const out: Partial<Args> & { comments: string[]; files: string[] } = {
    collapse: true,
    comments: [],
    files: [],
    verbose: false,
    readDate: today,
  };
  while (rest.length > 0) {
    const arg = rest.shift() ?? '';
    if (arg === '--') {
      out.files.push(...rest.splice(0));
      break;
    }
    if (!arg.startsWith('--') || arg === '-') {
      out.files.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const takeValue = (): string | undefined => (eq >= 0 ? arg.slice(eq + 1) : rest.shift());
    switch (name) {
      case '--help':
        return 'help';
      case '--no-collapse':
        out.collapse = false;
        break;
      case '--verbose':
        out.verbose = true;
        break;
      case '--format': {
        const v = takeValue();
        if (v !== 'litellm' && v !== 'genai-prices')
          return `--format must be litellm or genai-prices, got ${v ?? 'nothing'}`;
        out.format = v;
        break;
      }
      case '--source-url': {
        const v = takeValue();
        if (!v || !/^https?:\/\/\S+$/.test(v))
          return `--source-url must be an http(s) URL, got ${v ?? 'nothing'}`;
        out.sourceUrl = v;
        break;
      }
      case '--read-date': {
        const v = takeValue();
        if (!v || !/^\d{4}-\d{2}-\d{2}$/.test(v))
          return `--read-date must be YYYY-MM-DD, got ${v ?? 'nothing'}`;
        out.readDate = v;
        break;
      }
      case '--provider': {
        const v = takeValue();
        if (!v) return '--provider needs a value';
        out.provider = v;
        break;
      }
      case '--only-providers': {
        const v = takeValue();
        if (!v) return '--only-providers needs a comma-separated list';
        out.onlyProviders = new Set(
          v
            .split(',')
            .map((p) => p.trim())
            .filter(Boolean),
        );
        break;
      }
      case '--comment': {
        const v = takeValue();
        if (v === undefined) return '--comment needs a value';
        out.comments.push(v);
        break;
      }
      default:
        return `unknown option ${name}`;
    }
  }
  if (!out.format) return '--format is required';
  if (!out.sourceUrl) return '--source-url is required';
  if (out.files.length === 0) return 'at least one FILE is required';
  if (out.provider && out.format !== 'genai-prices')
    return '--provider applies to --format genai-prices only';
  return out as Args;
}

function parse(text: string, format: Args['format']): unknown {
  if (format === 'litellm') {
    try {
      return JSON.parse(text);
    } catch {
      // fall through: YAML is a superset of JSON and gives a better error position
    }
  }
  return yaml.load(text, { schema: yaml.CORE_SCHEMA });
}

/** Skip reasons grouped by their kind (the text before any detail), with a few example ids each. */
function summariseSkipped(skipped: readonly SkippedEntry[], verbose: boolean): string[] {
  if (verbose) return skipped.map((s) => `  skipped ${s.id}: ${s.reason}`);
  const groups = new Map<string, string[]>();
  for (const s of skipped) {
    const kind = s.reason.split(/ \(|: /)[0]?.trim() || s.reason;
    const ids = groups.get(kind);
    if (ids) ids.push(s.id);
    else groups.set(kind, [s.id]);
  }
  return [...groups].map(
    ([kind, ids]) =>
      `  skipped ${ids.length}: ${kind} (e.g. ${ids.slice(0, 3).join(', ')}${ids.length > 3 ? ', …' : ''})`,
  );
}

/** Adds `incoming` to `into`; an incoming entry replaces earlier entries claiming any of its ids. */
function mergeInto(
  into: ModelEntry[],
  incoming: readonly ModelEntry[],
): { models: ModelEntry[]; replaced: number } {
  let models = into;
  let replaced = 0;
  for (const m of incoming) {
    const ids = new Set([m.model, ...(m.aliases ?? [])]);
    const kept: ModelEntry[] = [];
    for (const e of models) {
      if (e.provider !== m.provider) {
        kept.push(e);
      } else if (ids.has(e.model)) {
        replaced++;
      } else {
        const aliases = (e.aliases ?? []).filter((a) => !ids.has(a));
        if (aliases.length === (e.aliases ?? []).length) kept.push(e);
        else {
          const { aliases: _dropped, ...rest } = e;
          kept.push(aliases.length > 0 ? { ...rest, aliases } : rest);
        }
      }
    }
    kept.push(m);
    models = kept;
  }
  return { models, replaced };
}

export function catalogueHeader(args: {
  format: string;
  onlyProviders?: ReadonlySet<string>;
  sourceUrl: string;
  readDate: string;
  files: readonly string[];
  comments: readonly string[];
}): string[] {
  return [
    'llmobs price catalogue for the llm_cost processor.',
    '',
    'Prices are in the catalogue currency per million tokens (per MTok), one price per disjoint token',
    'bucket: input (uncached), output, cache_read, cache_write_5m, cache_write_1h, reasoning, audio_input,',
    "audio_output, image_input. context_tiers are whole-request cliff tiers: once a request's input tokens",
    '(uncached + cache read + cache write) exceed `above`, all its tokens are billed at the tier prices.',
    'service_tiers hold batch/flex/priority prices. See processors/src/pricing/README.md.',
    '',
    'Every entry carries the URL it was read from (`source`) and the date it was read (`read`).',
    'Generated, do not edit by hand; refresh with:',
    `  llmobs-processor prices import --format ${args.format} \\`,
    `    --source-url ${args.sourceUrl} \\`,
    ...(args.onlyProviders ? [`    --only-providers ${[...args.onlyProviders].join(',')} \\`] : []),
    `    --read-date ${args.readDate} ${args.files.join(' ')} > catalogue.yaml`,
    ...(args.comments.length > 0 ? ['', ...args.comments] : []),
  ];
}

export async function runPricesImport(argv: string[], ioOverrides: Partial<CliIo> = {}): Promise<number> {
  const io: CliIo = { ...DEFAULT_IO, ...ioOverrides };
  const args = parseArgs(argv, io.today());
  if (args === 'help') {
    io.stdout(`${USAGE}\n`);
    return 0;
  }
  if (typeof args === 'string') {
    io.stderr(`prices import: ${args}\n${USAGE}\n`);
    return 2;
  }

  let models: ModelEntry[] = [];
  for (const file of args.files) {
    let data: unknown;
    try {
      data = parse(await io.readFile(file), args.format);
    } catch (err) {
      io.stderr(`prices import: ${file}: ${(err as Error).message.split('\n')[0]}\n`);
      return 1;
    }
    const options = { source: args.sourceUrl, read: args.readDate, collapseAliases: args.collapse };
    const result: ImportResult =
      args.format === 'litellm'
        ? importLiteLLM(data, options)
        : importGenaiPrices(data, { ...options, ...(args.provider ? { provider: args.provider } : {}) });
    const only = args.onlyProviders;
    const kept = only ? result.models.filter((m) => only.has(m.provider)) : result.models;
    const merged = mergeInto(models, kept);
    models = merged.models;
    const lines = [
      `${file}: ${kept.length} models imported, ${result.skipped.length} skipped` +
        (kept.length < result.models.length
          ? `, ${result.models.length - kept.length} of other providers left out`
          : '') +
        (merged.replaced > 0 ? `, ${merged.replaced} earlier entries replaced` : ''),
      ...summariseSkipped(result.skipped, args.verbose),
      ...result.notes.map((n) => `  ${n}`),
    ];
    io.stderr(`${lines.join('\n')}\n`);
  }

  models.sort(
    (a, b) => a.provider.localeCompare(b.provider) || a.model.localeCompare(b.model, 'en', { numeric: true }),
  );
  const catalogue: Catalogue = { currency: 'USD', models };
  const problems = validateCatalogue(catalogue);
  if (problems.length > 0) {
    io.stderr(`prices import: the result is not a valid catalogue:\n  ${problems.join('\n  ')}\n`);
    return 1;
  }
  const counts = new Map<string, number>();
  for (const m of models) counts.set(m.provider, (counts.get(m.provider) ?? 0) + 1);
  io.stderr(`catalogue: ${models.length} models (${[...counts].map(([p, n]) => `${p} ${n}`).join(', ')})\n`);
  io.stdout(formatCatalogueYaml(catalogue, catalogueHeader(args)));
  return 0;
}
