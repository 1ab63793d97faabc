/**
 * The price catalogue's data model. Prices are in the catalogue's currency per million tokens
 * (per MTok, as provider price pages and genai-prices write them) so the data file stays readable
 * and diffable; the engine converts once at load.
 *
 * Token buckets are disjoint (see genai/usage.ts): a price for `cache_read` applies only to cache-read
 * tokens, never also to `input`. A bucket with no price of its own falls back as FALLBACK says.
 */

/** Per-MTok prices for each disjoint token bucket. Absent = use the fallback bucket's price. */
export interface BucketPrices {
  /** Uncached input (text) tokens. */
  readonly input?: number;
  /** Output (text) tokens. */
  readonly output?: number;
  readonly cache_read?: number;
  /** Cache writes with the default (5 minute) lifetime; also used for writes of unknown lifetime. */
  readonly cache_write_5m?: number;
  readonly cache_write_1h?: number;
  /** Reasoning / thinking tokens; providers bill them as output unless priced separately. */
  readonly reasoning?: number;
  readonly audio_input?: number;
  readonly audio_output?: number;
  readonly image_input?: number;
}

/**
 * A whole-request cliff tier (genai-prices / provider semantics): once the prompt's total input
 * tokens (uncached + cache read + cache write) exceed `above`, every token of the request is billed
 * at the tier's prices. Buckets the tier leaves out keep the base price.
 */
export interface ContextTier extends BucketPrices {
  readonly above: number;
}

/** One period of prices for a model. */
export interface PricePeriod extends BucketPrices {
  /** ISO date (UTC) from which these prices apply; absent = since the model existed. */
  readonly effective_from?: string;
  /** Ascending by `above`; the highest tier the request exceeds wins. */
  readonly context_tiers?: readonly ContextTier[];
  /**
   * Prices by service tier (OpenAI `service_tier` priority/flex, batch APIs). A tier that is not listed
   * is billed at the standard prices. Buckets a tier leaves out keep the standard price.
   */
  readonly service_tiers?: Readonly<Partial<Record<ServiceTier, BucketPrices>>>;
  /**
   * Self-hosted or provisioned capacity: a price per hour of span duration, used instead of token
   * prices (and only when the model has no token prices).
   */
  readonly per_hour?: number;
}

export const SERVICE_TIERS = ['batch', 'flex', 'priority'] as const;
export type ServiceTier = (typeof SERVICE_TIERS)[number];

export interface ModelEntry {
  /** The provider, as `gen_ai.provider.name` spells it (openai, anthropic, gcp.gemini, aws.bedrock, ...). */
  readonly provider: string;
  /** Canonical model id, lower case, without provider prefix. */
  readonly model: string;
  /** Other exact ids billed identically (dated snapshots that share the alias's prices, marketing names). */
  readonly aliases?: readonly string[];
  /** Where the prices were read (a URL), and when (ISO date). Required for shipped entries. */
  readonly source: string;
  readonly read: string;
  /** Oldest first; a span is priced by the latest period whose `effective_from` is at or before its start. */
  readonly prices: readonly PricePeriod[];
}

export interface Catalogue {
  /** ISO 4217 code all prices are in. */
  readonly currency: string;
  readonly models: readonly ModelEntry[];
}

/**
 * A bucket without its own price is billed at another bucket's price only where providers bill it so:
 * reasoning is output; images are input tokens; a cache write on a provider that does not charge for
 * writes is ordinary input. Everything else (cache reads, 1 h writes, audio) has no fallback: billing
 * audio at the text rate or cache reads at the full rate is exactly the error users report, so tokens
 * in an unpriced bucket leave the cost partial and say so instead.
 */
export const FALLBACK: Readonly<Record<keyof BucketPrices, keyof BucketPrices | undefined>> = {
  input: undefined,
  output: undefined,
  cache_read: undefined,
  cache_write_5m: 'input',
  cache_write_1h: undefined,
  reasoning: 'output',
  audio_input: undefined,
  audio_output: undefined,
  image_input: 'input',
};

export const BUCKETS = Object.keys(FALLBACK) as (keyof BucketPrices)[];
