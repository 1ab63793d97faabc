import {
  BUCKETS,
  type BucketPrices,
  type ModelEntry,
  type PricePeriod,
  type ServiceTier,
} from './catalogue.ts';
import {
  collapseAliases,
  type ImportOptions,
  type ImportResult,
  type MutableBuckets,
  type MutableTier,
  NoteCollector,
  perTokenToPerMTok,
  type SkippedEntry,
  setTierPrice,
  sortedTiers,
} from './import-common.ts';

/**
 * Converts LiteLLM's `model_prices_and_context_window.json` (USD per token, one flat key per price) into
 * catalogue entries (USD per MTok, disjoint buckets, cliff context tiers, service tiers).
 *
 * Key mapping: `input_cost_per_token` → input, `output_cost_per_token` → output, `cache_read_input_token_cost`
 * → cache_read, `cache_creation_input_token_cost` → cache_write_5m (its `_above_1hr` form → cache_write_1h),
 * `output_cost_per_reasoning_token` → reasoning, `input/output_cost_per_audio_token` → audio_input/output,
 * `input_cost_per_image_token` → image_input. A `_above_<N>k_tokens` suffix makes a context tier above N×1000
 * input tokens; `_batches`, `_flex` and `_priority` suffixes make service tiers. `tiered_pricing` ranges become
 * context tiers at each range's lower bound.
 */

/** LiteLLM `litellm_provider` → `gen_ai.provider.name`. Providers not listed keep LiteLLM's name. */
export const LITELLM_PROVIDERS: Readonly<Record<string, string>> = {
  openai: 'openai',
  'text-completion-openai': 'openai',
  anthropic: 'anthropic',
  gemini: 'gcp.gemini',
  vertex_ai: 'gcp.vertex_ai',
  bedrock: 'aws.bedrock',
  bedrock_converse: 'aws.bedrock',
  azure: 'azure.ai.openai',
  'azure-text-completion': 'azure.ai.openai',
  azure_ai: 'azure.ai.inference',
  mistral: 'mistral_ai',
  codestral: 'mistral_ai',
  'text-completion-codestral': 'mistral_ai',
  xai: 'x_ai',
  cohere: 'cohere',
  cohere_chat: 'cohere',
  deepseek: 'deepseek',
  groq: 'groq',
  together_ai: 'together_ai',
  perplexity: 'perplexity',
  watsonx: 'ibm.watsonx.ai',
  fireworks_ai: 'fireworks_ai',
  'fireworks_ai-embedding-models': 'fireworks_ai',
};

export function mapLiteLLMProvider(litellmProvider: string): string {
  if (litellmProvider.startsWith('vertex_ai')) return 'gcp.vertex_ai';
  return LITELLM_PROVIDERS[litellmProvider] ?? litellmProvider.toLowerCase();
}

/** Key prefixes LiteLLM puts before model ids (`azure/gpt-4o`, `gemini/gemini-2.5-pro`, `groq/…`). */
const KEY_PREFIXES = new Set([
  ...Object.keys(LITELLM_PROVIDERS),
  'vertex_ai',
  'openrouter',
  'bedrock',
  'sagemaker',
]);

/** Path segments naming a deployment type rather than a model (`azure/global/gpt-4o`). */
const DEPLOYMENT_SEGMENT = /^(?:global|global-standard|standard)$/;

const NON_TOKEN_MODES: Readonly<Record<string, string>> = {
  image_generation: 'image generation is priced per image, pixel or image token',
  image_edit: 'image editing is priced per image',
  video_generation: 'video generation is priced per second of video',
  moderation: 'moderation is free',
  rerank: 'rerank is priced per query',
  search: 'search is priced per query',
  ocr: 'OCR is priced per page',
  vector_store: 'vector stores are priced per query or storage',
};

const BASE_KEYS: Readonly<Record<string, keyof BucketPrices>> = {
  input_cost_per_token: 'input',
  output_cost_per_token: 'output',
  cache_read_input_token_cost: 'cache_read',
  cache_creation_input_token_cost: 'cache_write_5m',
  output_cost_per_reasoning_token: 'reasoning',
  input_cost_per_audio_token: 'audio_input',
  output_cost_per_audio_token: 'audio_output',
  input_cost_per_image_token: 'image_input',
};

const PRICE_KEY = new RegExp(
  `^(${Object.keys(BASE_KEYS).join('|')})(_above_1hr)?(?:_above_(\\d+(?:\\.\\d+)?)([km])_tokens)?(?:_(batches|priority|flex))?$`,
);

const SERVICE_TIER_SUFFIX: Readonly<Record<string, ServiceTier>> = {
  batches: 'batch',
  priority: 'priority',
  flex: 'flex',
};

/** Keys that carry a price (or a price multiplier) the catalogue cannot represent, reported when dropped. */
const OTHER_PRICE_KEY = /cost|price|multiplier|uplift|^provider_specific_entry$/;

/** Regions in keys like `azure/eu/gpt-4o-…` (Azure data zones) or `bedrock/us-west-2/…`; Azure's `global`
 * deployments are the prices the catalogue keeps. */
const REGION_SEGMENT = /^(?:eu|us|[a-z]{2}(?:-[a-z]+)+-\d+)$/;

/** Bedrock cross-region inference profile prefixes (`us.anthropic.claude-…`). */
const BEDROCK_GEO = /^(us|eu|apac|au|jp|ca|global|us-gov)\.(.+)$/;

interface ParsedPriceKey {
  readonly bucket: keyof BucketPrices;
  readonly above?: number;
  readonly tier?: ServiceTier;
}

export function parseLiteLLMPriceKey(key: string): ParsedPriceKey | undefined {
  const m = PRICE_KEY.exec(key);
  if (!m) return undefined;
  const [, base = '', oneHour, amount, unit, tier] = m;
  let bucket = BASE_KEYS[base];
  if (!bucket) return undefined;
  if (oneHour) {
    if (bucket !== 'cache_write_5m') return undefined;
    bucket = 'cache_write_1h';
  }
  const above = amount ? Math.round(Number(amount) * (unit === 'm' ? 1_000_000 : 1_000)) : undefined;
  return {
    bucket,
    ...(above !== undefined ? { above } : {}),
    ...(tier ? { tier: SERVICE_TIER_SUFFIX[tier] } : {}),
  };
}

/**
 * Bedrock ids lose their API version suffix (`-v1:0`, `-v2`, `:0`), as genai/model-id.ts strips it from
 * reported ids; the full id stays an alias. Where two versions are priced differently (Titan embeddings
 * v1 and v2), the importer keeps the second under its full id.
 */
export function normaliseBedrockId(id: string): string {
  return id.replace(/(?:-v\d+(?::\d+)?|:\d+)$/, '');
}

interface Candidate {
  readonly key: string;
  readonly provider: string;
  readonly model: string;
  readonly aliases: string[];
  readonly period: PricePeriod;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

type Converted = { period: PricePeriod } | { skip: string };

/** Notes about an entry, kept only if the entry is imported. */
type PendingNotes = Pick<NoteCollector, 'drop'>;

function pending(): PendingNotes & { commit(to: NoteCollector): void } {
  const items: [string, string, string][] = [];
  return {
    drop: (what, why, model) => {
      items.push([what, why, model]);
    },
    commit: (to) => {
      for (const [what, why, model] of items) to.drop(what, why, model);
    },
  };
}

function convertPrices(id: string, entry: Record<string, unknown>, notes: PendingNotes): Converted {
  const base: MutableBuckets = {};
  const tiers = new Map<number, MutableTier>();
  const services = new Map<ServiceTier, MutableBuckets>();
  const ignored: string[] = [];

  for (const [key, raw] of Object.entries(entry)) {
    const parsed = parseLiteLLMPriceKey(key);
    if (!parsed) {
      if (key !== 'tiered_pricing' && OTHER_PRICE_KEY.test(key)) ignored.push(key);
      continue;
    }
    if (typeof raw !== 'number' || !Number.isFinite(raw) || raw < 0) {
      notes.drop(key, 'not a non-negative number', id);
      continue;
    }
    const value = perTokenToPerMTok(raw);
    if (parsed.above !== undefined && parsed.tier) {
      notes.drop(key, 'a service tier inside a context tier cannot be represented', id);
    } else if (parsed.above !== undefined) {
      setTierPrice(tiers, parsed.above, parsed.bucket, value);
    } else if (parsed.tier) {
      let s = services.get(parsed.tier);
      if (!s) {
        s = {};
        services.set(parsed.tier, s);
      }
      s[parsed.bucket] = value;
    } else {
      base[parsed.bucket] = value;
    }
  }

  const ranges = entry.tiered_pricing;
  if (Array.isArray(ranges)) {
    const sorted = ranges
      .filter(isRecord)
      .map((r) => ({
        r,
        lo: Array.isArray(r.range) && typeof r.range[0] === 'number' ? r.range[0] : Number.NaN,
      }))
      .filter(({ lo }) => Number.isFinite(lo))
      .sort((a, b) => a.lo - b.lo);
    for (const { r, lo } of sorted) {
      for (const [key, raw] of Object.entries(r)) {
        if (key === 'range') continue;
        const parsed = parseLiteLLMPriceKey(key);
        if (!parsed || parsed.above !== undefined || parsed.tier || typeof raw !== 'number' || raw < 0) {
          notes.drop(`tiered_pricing ${key}`, 'not a plain token price', id);
          continue;
        }
        const value = perTokenToPerMTok(raw);
        if (lo === 0) {
          if (base[parsed.bucket] === undefined) base[parsed.bucket] = value;
        } else setTierPrice(tiers, Math.round(lo), parsed.bucket, value);
      }
    }
    if (sorted.length > 0)
      notes.drop('tiered_pricing ranges', 'imported as cliff context tiers at each range start', id);
  }

  for (const key of ignored) notes.drop(key, 'no catalogue bucket for it', id);

  // A tier price for a bucket the model has no base price for would make that bucket cheaper or dearer
  // only above the threshold, which no provider does; it is a source error.
  for (const t of tiers.values()) {
    for (const b of BUCKETS) {
      if (t[b] !== undefined && base[b] === undefined) {
        notes.drop(`context tier ${b} above ${t.above}`, 'no base price for that bucket', id);
        delete t[b];
      }
    }
    if (BUCKETS.every((b) => t[b] === undefined)) tiers.delete(t.above);
  }

  const baseCount = BUCKETS.filter((b) => base[b] !== undefined).length;
  if (baseCount === 0) {
    const perUnit = Object.keys(entry).filter((k) => OTHER_PRICE_KEY.test(k));
    return {
      skip:
        perUnit.length > 0
          ? `no per-token price (has ${perUnit.slice(0, 3).join(', ')})`
          : 'no prices in the source',
    };
  }
  const all = [
    ...BUCKETS.map((b) => base[b]),
    ...[...tiers.values()].flatMap((t) => BUCKETS.map((b) => t[b])),
    ...[...services.values()].flatMap((s) => BUCKETS.map((b) => s[b])),
  ].filter((v): v is number => v !== undefined);
  if (all.every((v) => v === 0)) return { skip: 'all token prices are 0 (free, or unknown in the source)' };

  const period: MutableBuckets = {};
  for (const b of BUCKETS) if (base[b] !== undefined) period[b] = base[b];
  const contextTiers = sortedTiers(tiers);
  const serviceTiers: Partial<Record<ServiceTier, BucketPrices>> = {};
  for (const t of ['batch', 'flex', 'priority'] as const) {
    const s = services.get(t);
    if (!s) continue;
    // A tier price equal to the standard price says nothing (an unlisted bucket keeps the standard price)
    // and, listed, would mask the context tiers above it.
    const ordered: MutableBuckets = {};
    for (const b of BUCKETS) if (s[b] !== undefined && s[b] !== base[b]) ordered[b] = s[b];
    if (Object.keys(ordered).length > 0) serviceTiers[t] = ordered;
  }
  return {
    period: {
      ...period,
      ...(contextTiers.length > 0 ? { context_tiers: contextTiers } : {}),
      ...(Object.keys(serviceTiers).length > 0 ? { service_tiers: serviceTiers } : {}),
    },
  };
}

interface KeyInfo {
  readonly provider: string;
  readonly id: string;
  /** The Bedrock cross-region prefix removed from the id, if any. */
  readonly geo?: string;
  readonly aliases: string[];
}

function parseKey(key: string, litellmProvider: string): KeyInfo | { skip: string } {
  const provider = mapLiteLLMProvider(litellmProvider);
  let parts = key.split('/');
  if (parts.length > 1 && (parts[0] === litellmProvider || KEY_PREFIXES.has(parts[0] ?? '')))
    parts = parts.slice(1);
  if (parts.length > 1 && DEPLOYMENT_SEGMENT.test(parts[0] ?? '')) parts = parts.slice(1);
  if (parts.length > 1 && REGION_SEGMENT.test(parts[0] ?? '')) {
    return {
      skip: `regional price (${parts[0]}); the catalogue keeps the global price and has no region dimension`,
    };
  }
  let id = parts.join('/').toLowerCase();
  const aliases: string[] = [];
  let geo: string | undefined;
  if (provider === 'aws.bedrock') {
    const g = BEDROCK_GEO.exec(id);
    if (g?.[1] && g[2]) {
      geo = g[1];
      id = g[2];
    }
    const normalised = normaliseBedrockId(id);
    if (normalised !== id) {
      aliases.push(id);
      id = normalised;
    }
  }
  return { provider, id, aliases, ...(geo ? { geo } : {}) };
}

/**
 * Converts a parsed LiteLLM price map. Entries that are not priced per token, are regional duplicates, or
 * have no usable price are skipped with a reason; prices that have no catalogue bucket are dropped and
 * reported in `notes`.
 */
export function importLiteLLM(data: unknown, options: ImportOptions): ImportResult {
  const skipped: SkippedEntry[] = [];
  const notes = new NoteCollector();
  if (!isRecord(data)) {
    return {
      models: [],
      skipped: [{ id: '(file)', reason: 'not a JSON object of model entries' }],
      notes: [],
    };
  }
  const accepted = new Map<string, Candidate>();
  const deferredGeo: { key: string; info: KeyInfo; period: PricePeriod }[] = [];

  for (const [key, entry] of Object.entries(data)) {
    if (key === 'sample_spec') {
      skipped.push({ id: key, reason: 'the format specification, not a model' });
      continue;
    }
    if (!isRecord(entry)) {
      skipped.push({ id: key, reason: 'not an object' });
      continue;
    }
    const mode = typeof entry.mode === 'string' ? entry.mode : undefined;
    const nonToken = mode ? NON_TOKEN_MODES[mode] : undefined;
    if (nonToken) {
      skipped.push({ id: key, reason: `mode ${mode}: ${nonToken}` });
      continue;
    }
    if (typeof entry.litellm_provider !== 'string') {
      skipped.push({ id: key, reason: 'no litellm_provider' });
      continue;
    }
    const info = parseKey(key, entry.litellm_provider);
    if ('skip' in info) {
      skipped.push({ id: key, reason: info.skip });
      continue;
    }
    const entryNotes = pending();
    const converted = convertPrices(key, entry, entryNotes);
    if ('skip' in converted) {
      skipped.push({ id: key, reason: converted.skip });
      continue;
    }
    entryNotes.commit(notes);
    if (info.geo) {
      deferredGeo.push({ key, info, period: converted.period });
      continue;
    }
    add(key, info, converted.period);
  }
  // A cross-region profile id is imported only for a model the source prices under no plain id.
  for (const { key, info, period } of deferredGeo) {
    const plain = accepted.get(`${info.provider}\u0000${info.id}`);
    if (plain) {
      skipped.push({
        id: key,
        reason: `cross-region inference profile of ${plain.key} (priced with a regional uplift or identically; the catalogue has no region dimension)`,
      });
      continue;
    }
    notes.add(`${key}: imported as ${info.id}, the source prices it only under its ${info.geo}. profile id`);
    add(key, info, period);
  }

  function add(key: string, info: KeyInfo, period: PricePeriod): void {
    const first = accepted.get(`${info.provider}\u0000${info.id}`);
    if (!first) {
      accepted.set(`${info.provider}\u0000${info.id}`, {
        key,
        provider: info.provider,
        model: info.id,
        aliases: info.aliases,
        period,
      });
      return;
    }
    const same = JSON.stringify(first.period) === JSON.stringify(period);
    // Two versions that normalise to one id but are priced differently: keep this one under its full id.
    const full = info.aliases[0];
    if (!same && full && !accepted.has(`${info.provider}\u0000${full}`)) {
      accepted.set(`${info.provider}\u0000${full}`, {
        key,
        provider: info.provider,
        model: full,
        aliases: [],
        period,
      });
      notes.add(`${key}: kept as ${full}, since ${first.key} normalises to the same id with other prices`);
      return;
    }
    skipped.push({
      id: key,
      reason: `same provider and model id as ${first.key}${same ? '' : ' (priced differently; the first is kept)'}`,
    });
  }

  let models: ModelEntry[] = [...accepted.values()].map((c) => ({
    provider: c.provider,
    model: c.model,
    ...(c.aliases.length > 0 ? { aliases: c.aliases } : {}),
    source: options.source,
    read: options.read,
    prices: [c.period],
  }));
  const folded: string[] = [];
  if (options.collapseAliases !== false) models = collapseAliases(models, folded);
  return { models, skipped, notes: [...notes.render(), ...folded] };
}
