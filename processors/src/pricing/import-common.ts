import type { BucketPrices, ContextTier, ModelEntry, PricePeriod } from './catalogue.ts';

/** What an importer made of a source file. */
export interface ImportResult {
  readonly models: ModelEntry[];
  /** Source entries left out, with the reason (one line each). */
  readonly skipped: SkippedEntry[];
  /** Parts of imported entries that could not be represented and were dropped, aggregated. */
  readonly notes: string[];
}

export interface SkippedEntry {
  readonly id: string;
  readonly reason: string;
}

export interface ImportOptions {
  /** URL the source file was read from; becomes every entry's `source`. */
  readonly source: string;
  /** ISO date the source was read; becomes every entry's `read`. */
  readonly read: string;
  /** Fold entries whose id only adds a date/version/`-latest` suffix and whose prices are identical into
   * the undated entry's `aliases` (default true). */
  readonly collapseAliases?: boolean;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
export type MutableBuckets = Mutable<BucketPrices>;
export type MutableTier = Mutable<ContextTier>;

/** Rounds a per-MTok price to 1e-9 so binary float noise (2.5e-6 × 1e6 = 2.4999999999999996) disappears. */
export function roundPrice(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}

/** A per-token price as per MTok: `Math.round(x × 1e12) / 1e6`, exact to 1e-6 USD per MTok. */
export function perTokenToPerMTok(x: number): number {
  return Math.round(x * 1e6 * 1e6) / 1e6;
}

/** Collects "dropped key K on model M" facts and renders them grouped by key. */
export class NoteCollector {
  private readonly byKey = new Map<string, string[]>();
  private readonly free: string[] = [];

  /** Records that `what` (a source key or feature) was dropped on `model` because `why`. */
  drop(what: string, why: string, model: string): void {
    const k = `${what}\u0000${why}`;
    const list = this.byKey.get(k);
    if (list) list.push(model);
    else this.byKey.set(k, [model]);
  }

  add(note: string): void {
    this.free.push(note);
  }

  render(): string[] {
    const out = [...this.free];
    for (const [k, models] of this.byKey) {
      const [what, why] = k.split('\u0000');
      const eg = models.slice(0, 4).join(', ') + (models.length > 4 ? ', …' : '');
      out.push(`dropped ${what} on ${models.length} model(s) (${why}): ${eg}`);
    }
    return out;
  }
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export function samePrices(a: readonly PricePeriod[], b: readonly PricePeriod[]): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** `gpt-4o-2024-08-06` → `gpt-4o`; `claude-opus-4-5-20251101` → `claude-opus-4-5`; `mistral-large-2512`,
 * `command-r-08-2024`, `gemini-2.0-flash-001`, `grok-3-latest` likewise. Undefined when there is no suffix. */
export function undatedId(id: string): string | undefined {
  const m = /^(.+?)-(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{2}-\d{4}|\d{4}|\d{3}|latest)$/.exec(id);
  return m?.[1];
}

/** True when every price `snapshot` states is the same in `base`; `base` may add service tiers. */
function pricesWithin(snapshot: readonly PricePeriod[], base: readonly PricePeriod[]): boolean {
  if (snapshot.length !== base.length) return false;
  return snapshot.every((s, i) => {
    const b = base[i];
    if (!b) return false;
    const { service_tiers: st, ...rest } = s;
    const { service_tiers: bt, ...baseRest } = b;
    if (canonicalJson(rest) !== canonicalJson(baseRest)) return false;
    return Object.entries(st ?? {}).every(
      ([tier, prices]) =>
        canonicalJson(prices) === canonicalJson((bt as Record<string, unknown> | undefined)?.[tier]),
    );
  });
}

/**
 * Folds each entry whose id is an undated id plus a date/version suffix into that entry's aliases (or,
 * when there is no undated entry, the `-latest` one's) when it states no price the undated entry does not:
 * identical prices, or the same prices with fewer service tiers listed (LiteLLM often lists priority prices
 * on the alias only). Entries priced differently from their alias (gpt-4o-2024-05-13) stay separate.
 * `folded` receives a line for each fold that gave a snapshot service tiers it did not list itself.
 */
export function collapseAliases(models: readonly ModelEntry[], folded: string[] = []): ModelEntry[] {
  const byId = new Map<string, Mutable<ModelEntry> & { aliases: string[] }>();
  const out: (Mutable<ModelEntry> & { aliases: string[] })[] = [];
  for (const m of models) {
    const copy = { ...m, aliases: [...(m.aliases ?? [])] };
    out.push(copy);
    byId.set(`${m.provider}\u0000${m.model}`, copy);
  }
  const removed = new Set<object>();
  for (const m of out) {
    const base = undatedId(m.model);
    if (!base) continue;
    const target =
      byId.get(`${m.provider}\u0000${base}`) ??
      (m.model === `${base}-latest` ? undefined : byId.get(`${m.provider}\u0000${base}-latest`));
    if (!target || target === m || removed.has(target) || !pricesWithin(m.prices, target.prices)) continue;
    if (!samePrices(m.prices, target.prices))
      folded.push(
        `${m.provider} ${m.model}: folded into ${target.model}, whose service tier prices it now shares`,
      );
    target.aliases.push(m.model, ...m.aliases);
    removed.add(m);
  }
  return out
    .filter((m) => !removed.has(m))
    .map((m) => {
      const { aliases, ...rest } = m;
      const unique = [...new Set(aliases)].filter((a) => a !== m.model).sort();
      return unique.length > 0 ? { ...rest, aliases: unique } : rest;
    });
}

/** Adds `value` for `bucket` to a context tier list, creating the tier at `above` when needed. */
export function setTierPrice(
  tiers: Map<number, MutableTier>,
  above: number,
  bucket: keyof BucketPrices,
  value: number,
): void {
  let t = tiers.get(above);
  if (!t) {
    t = { above };
    tiers.set(above, t);
  }
  t[bucket] = value;
}

/** Tiers ascending by `above`, with `above` first in each object for readability. */
export function sortedTiers(tiers: Map<number, MutableTier>): ContextTier[] {
  return [...tiers.values()].sort((a, b) => a.above - b.above).map((t) => ({ ...t }));
}
