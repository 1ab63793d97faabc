import { BUCKETS, type BucketPrices, type ModelEntry, type PricePeriod } from './catalogue.ts';
import {
  collapseAliases,
  type ImportOptions,
  type ImportResult,
  type MutableBuckets,
  type MutableTier,
  NoteCollector,
  roundPrice,
  type SkippedEntry,
  setTierPrice,
  sortedTiers,
} from './import-common.ts';

/**
 * Converts a pydantic/genai-prices provider file (`prices/providers/<id>.yml`) into catalogue entries.
 *
 * genai-prices already prices per MTok in USD. A model's `prices` is either one price object or a list of
 * `{constraint?: {start_date}, prices}` periods (historic prices); a price is a number or a cliff-tiered
 * `{base, tiers: [{start, price}]}`, where crossing `start` input tokens bills *all* tokens at the tier price,
 * which is exactly the catalogue's context tier with `above: start`. Exact ids in `match` (`equals`) become
 * aliases; pattern clauses (`starts_with`, `contains`, `regex`) cannot be represented and are reported.
 */

/** genai-prices provider id → `gen_ai.provider.name`. Providers not listed keep their id. */
export const GENAI_PRICES_PROVIDERS: Readonly<Record<string, string>> = {
  openai: 'openai',
  anthropic: 'anthropic',
  google: 'gcp.gemini',
  aws: 'aws.bedrock',
  azure: 'azure.ai.openai',
  mistral: 'mistral_ai',
  x_ai: 'x_ai',
  cohere: 'cohere',
  deepseek: 'deepseek',
  groq: 'groq',
  together: 'together_ai',
  fireworks: 'fireworks_ai',
  perplexity: 'perplexity',
};

/** genai-prices price keys → buckets. */
const PRICE_KEYS: Readonly<Record<string, keyof BucketPrices>> = {
  input_mtok: 'input',
  output_mtok: 'output',
  cache_read_mtok: 'cache_read',
  cache_write_mtok: 'cache_write_5m',
  cache_write_5m_mtok: 'cache_write_5m',
  cache_write_1h_mtok: 'cache_write_1h',
  input_audio_mtok: 'audio_input',
  output_audio_mtok: 'audio_output',
  input_image_mtok: 'image_input',
  output_reasoning_mtok: 'reasoning',
};

export interface GenaiPricesImportOptions extends ImportOptions {
  /** Provider name to use instead of mapping the file's `id`. */
  readonly provider?: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isoDate(v: unknown): string | undefined {
  if (v instanceof Date && !Number.isNaN(v.getTime())) return v.toISOString().slice(0, 10);
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) return v;
  return undefined;
}

/** Exact ids from a match clause; pattern clauses are reported. */
function exactIds(clause: unknown, model: string, notes: NoteCollector): string[] {
  if (!isRecord(clause)) return [];
  if (typeof clause.equals === 'string') return [clause.equals.toLowerCase()];
  if (Array.isArray(clause.or)) return clause.or.flatMap((c) => exactIds(c, model, notes));
  const kind = Object.keys(clause)[0] ?? 'empty';
  notes.drop(`match clause "${kind}"`, 'only exact (equals) ids become aliases', model);
  return [];
}

function convertPrice(model: string, price: unknown, notes: NoteCollector): PricePeriod | undefined {
  if (!isRecord(price)) return undefined;
  const base: MutableBuckets = {};
  const tiers = new Map<number, MutableTier>();
  // Specific keys (cache_write_5m_mtok) win over their generic forms (cache_write_mtok).
  const keys = Object.keys(price).sort(
    (a, b) => Number(a === 'cache_write_mtok') - Number(b === 'cache_write_mtok'),
  );
  for (const key of keys) {
    const raw = price[key];
    const bucket = PRICE_KEYS[key];
    if (!bucket) {
      notes.drop(key, 'no catalogue bucket for it', model);
      continue;
    }
    if (bucket === 'cache_write_5m' && key === 'cache_write_mtok' && base.cache_write_5m !== undefined)
      continue;
    if (typeof raw === 'number') {
      if (!Number.isFinite(raw) || raw < 0) notes.drop(key, 'not a non-negative number', model);
      else base[bucket] = roundPrice(raw);
    } else if (isRecord(raw) && typeof raw.base === 'number' && Array.isArray(raw.tiers)) {
      base[bucket] = roundPrice(raw.base);
      for (const t of raw.tiers) {
        if (isRecord(t) && typeof t.start === 'number' && typeof t.price === 'number' && t.price >= 0)
          setTierPrice(tiers, t.start, bucket, roundPrice(t.price));
        else notes.drop(`${key} tier`, 'not {start, price}', model);
      }
    } else {
      notes.drop(key, 'neither a number nor {base, tiers}', model);
    }
  }
  if (BUCKETS.every((b) => base[b] === undefined)) return undefined;
  const period: MutableBuckets = {};
  for (const b of BUCKETS) if (base[b] !== undefined) period[b] = base[b];
  const contextTiers = sortedTiers(tiers);
  return contextTiers.length > 0 ? { ...period, context_tiers: contextTiers } : period;
}

function convertPeriods(model: string, prices: unknown, notes: NoteCollector): PricePeriod[] | string {
  if (!Array.isArray(prices)) {
    const p = convertPrice(model, prices, notes);
    return p ? [p] : 'no token prices';
  }
  const dated: { from?: string; period: PricePeriod }[] = [];
  for (const cp of prices) {
    if (!isRecord(cp)) continue;
    const constraint = cp.constraint;
    let from: string | undefined;
    if (isRecord(constraint)) {
      if ('start_time' in constraint || 'end_time' in constraint) {
        notes.drop(
          'time-of-day price',
          'the catalogue has no time-of-day prices (off-peak discounts)',
          model,
        );
        continue;
      }
      from = isoDate(constraint.start_date);
      if (!from) {
        notes.drop('conditional price', 'constraint is neither start_date nor a time of day', model);
        continue;
      }
    }
    const period = convertPrice(model, cp.prices, notes);
    if (period) dated.push({ ...(from ? { from } : {}), period });
  }
  if (dated.length === 0) return 'no token prices';
  // genai-prices: later conditional prices take precedence, and the first applies when none matches.
  dated.sort((a, b) => (a.from ?? '').localeCompare(b.from ?? ''));
  const out: PricePeriod[] = [];
  dated.forEach((d, i) => {
    const from = i === 0 ? undefined : d.from;
    if (i === 0 && d.from)
      notes.drop('first start_date', 'the first price applies before any start date', model);
    if (i > 0 && (from === undefined || from === dated[i - 1]?.from)) {
      notes.drop('conditional price', 'same start date as another; the later one is kept', model);
      out.pop();
    }
    out.push(from ? { effective_from: from, ...d.period } : d.period);
  });
  return out;
}

/** Converts one parsed genai-prices provider file. */
export function importGenaiPrices(data: unknown, options: GenaiPricesImportOptions): ImportResult {
  const skipped: SkippedEntry[] = [];
  const notes = new NoteCollector();
  if (!isRecord(data) || !Array.isArray(data.models)) {
    return {
      models: [],
      skipped: [{ id: '(file)', reason: 'not a genai-prices provider file (no models list)' }],
      notes: [],
    };
  }
  const fileId = typeof data.id === 'string' ? data.id : '';
  const provider = options.provider ?? GENAI_PRICES_PROVIDERS[fileId] ?? fileId.toLowerCase();
  if (!provider) {
    return {
      models: [],
      skipped: [{ id: '(file)', reason: 'no provider id in the file; pass one' }],
      notes: [],
    };
  }
  const claimed = new Map<string, string>();
  let models: ModelEntry[] = [];
  for (const m of data.models) {
    if (!isRecord(m) || typeof m.id !== 'string') {
      skipped.push({ id: '(unnamed)', reason: 'model without an id' });
      continue;
    }
    const id = m.id.toLowerCase();
    if (m.removed === true) {
      skipped.push({ id: m.id, reason: 'marked removed in genai-prices' });
      continue;
    }
    const periods = convertPeriods(id, m.prices, notes);
    if (typeof periods === 'string') {
      skipped.push({ id: m.id, reason: periods });
      continue;
    }
    if (claimed.has(id)) {
      skipped.push({ id: m.id, reason: `id already used by ${claimed.get(id)}` });
      continue;
    }
    claimed.set(id, m.id);
    const aliases: string[] = [];
    for (const a of exactIds(m.match, id, notes)) {
      if (a === id || aliases.includes(a)) continue;
      const owner = claimed.get(a);
      if (owner) notes.drop(`alias ${a}`, `already used by ${owner}`, id);
      else {
        claimed.set(a, m.id);
        aliases.push(a);
      }
    }
    models.push({
      provider,
      model: id,
      ...(aliases.length > 0 ? { aliases: aliases.sort() } : {}),
      source: options.source,
      read: options.read,
      prices: periods,
    });
  }
  const folded: string[] = [];
  if (options.collapseAliases !== false) models = collapseAliases(models, folded);
  return { models, skipped, notes: [...notes.render(), ...folded] };
}
