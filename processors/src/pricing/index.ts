import { type ModelCandidate, modelCandidates, type Resolution } from '../genai/model-id.ts';
import type { ModelEntry } from './catalogue.ts';

/** Providers that bill a model at the price of another's entry when they have none of their own. */
const PROVIDER_FAMILY: Readonly<Record<string, string>> = {
  'azure.ai.openai': 'openai',
  'gcp.vertex_ai': 'gcp.gemini',
  'gcp.gen_ai': 'gcp.gemini',
  'gcp.gemini': 'gcp.gemini',
};

/** Provider of a configured price that applies whatever provider the span names. */
export const WILDCARD = '*';
/** The `source` of entries built from the processor's config. */
export const CONFIG_SOURCE = 'config';

export interface PriceMatch {
  readonly entry: ModelEntry;
  /** How the reported id reached the entry; `provider_fallback` = found under another provider. */
  readonly resolution: Resolution | 'provider_fallback' | 'alias' | 'override';
  /** The id that matched. */
  readonly matched: string;
}

/**
 * Lookup over one or more catalogues, first catalogue wins (overrides, then extra files, then the
 * shipped catalogue). Built once per config load; a lookup is a handful of Map gets per candidate
 * id, and results are memoised per (provider, reported model) with a bounded cache.
 */
export class PriceIndex {
  readonly #byId = new Map<string, ModelEntry[]>();
  readonly #aliases: ReadonlyMap<string, string>;
  readonly #memo = new Map<string, PriceMatch | null>();
  static readonly MEMO_LIMIT = 10_000;

  /** `aliases`: reported id (lower case; e.g. an Azure deployment or an application inference profile) → catalogue id. */
  constructor(
    catalogues: readonly (readonly ModelEntry[])[],
    aliases: ReadonlyMap<string, string> = new Map(),
  ) {
    this.#aliases = aliases;
    const seen = new Set<string>();
    for (const models of catalogues) {
      for (const e of models) {
        for (const id of [e.model, ...(e.aliases ?? [])]) {
          const lower = id.toLowerCase();
          const key = `${e.provider}\u0000${lower}`;
          if (seen.has(key)) continue;
          seen.add(key);
          const list = this.#byId.get(lower) ?? [];
          list.push(e);
          this.#byId.set(lower, list);
        }
      }
    }
  }

  get size(): number {
    return this.#byId.size;
  }

  lookup(provider: string | undefined, reportedModel: string): PriceMatch | undefined {
    const memoKey = `${provider ?? ''}\u0000${reportedModel}`;
    const memo = this.#memo.get(memoKey);
    if (memo !== undefined) return memo ?? undefined;
    const found = this.#find(provider, reportedModel);
    // Reported model ids come from the data, so the memo is bounded: past the limit it starts over.
    if (this.#memo.size >= PriceIndex.MEMO_LIMIT) this.#memo.clear();
    this.#memo.set(memoKey, found ?? null);
    return found;
  }

  #find(provider: string | undefined, reported: string): PriceMatch | undefined {
    const aliased = this.#aliases.get(reported.trim().toLowerCase());
    const candidates: ModelCandidate[] = modelCandidates(aliased ?? reported);
    const family = provider ? PROVIDER_FAMILY[provider] : undefined;
    let crossProvider: PriceMatch | undefined;
    for (const c of candidates) {
      const entries = this.#byId.get(c.id);
      if (!entries) continue;
      const resolution = aliased ? 'alias' : c.resolution;
      // Entries from config (provider `*` unless given) win for every provider.
      const own =
        entries.find((e) => e.provider === WILDCARD || e.provider === provider) ??
        (provider ? undefined : entries[0]);
      if (own)
        return {
          entry: own,
          resolution: own.source === CONFIG_SOURCE && !aliased ? 'override' : resolution,
          matched: c.id,
        };
      const fam = family ? entries.find((e) => e.provider === family) : undefined;
      if (fam) return { entry: fam, resolution, matched: c.id };
      // A configured alias names the model outright, whoever serves it.
      if (aliased) return { entry: entries[0] as ModelEntry, resolution, matched: c.id };
      // Another provider's price for the same model (Bedrock's Claude at Anthropic's price): only
      // if nothing closer turns up among the remaining candidates.
      crossProvider ??= { entry: entries[0] as ModelEntry, resolution: 'provider_fallback', matched: c.id };
    }
    return crossProvider;
  }
}
