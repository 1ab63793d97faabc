import type { NormalisedUsage } from '../genai/usage.ts';
import {
  BUCKETS,
  type BucketPrices,
  type ContextTier,
  FALLBACK,
  type PricePeriod,
  type ServiceTier,
} from './catalogue.ts';

export type Bucket = keyof BucketPrices;

export interface Cost {
  /** Total in the catalogue's currency; includes only priced buckets. */
  readonly amount: number;
  readonly byBucket: Partial<Record<Bucket, number>>;
  /** Buckets with tokens but no price (the cost is then partial, and says so). */
  readonly unpriced: readonly Bucket[];
  /** The context tier applied (its `above`), if any. */
  readonly contextTier?: number;
  /** The service tier priced, if it had prices of its own. */
  readonly serviceTier?: ServiceTier;
  /** True when priced per hour of duration rather than per token. */
  readonly perHour: boolean;
}

/** The price period in force at `atMs` (epoch ms): the latest whose effective_from is not after it. */
export function periodAt(prices: readonly PricePeriod[], atMs: number): PricePeriod | undefined {
  let chosen: PricePeriod | undefined;
  for (const p of prices) {
    if (p.effective_from === undefined || Date.parse(p.effective_from) <= atMs) chosen = p;
  }
  // A span older than every period is priced at the oldest: better than no price, and visible in `read`.
  return chosen ?? prices[0];
}

/** The highest cliff tier the request's total input exceeds: all its tokens are then billed at that tier. */
function contextTier(p: PricePeriod, inputTotal: number): ContextTier | undefined {
  let chosen: ContextTier | undefined;
  for (const t of p.context_tiers ?? []) if (inputTotal > t.above) chosen = t;
  return chosen;
}

/**
 * Prices disjoint token buckets. A bucket's price comes from the service tier's prices if it has
 * one, else the context tier's, else the base price; a bucket with none of those takes its FALLBACK
 * bucket's price the same way, or stays unpriced.
 */
export function priceUsage(
  period: PricePeriod,
  usage: NormalisedUsage,
  opts: { serviceTier?: ServiceTier; durationSeconds?: number } = {},
): Cost {
  const hasTokenPrices = period.input !== undefined || period.output !== undefined;
  if (!hasTokenPrices && period.per_hour !== undefined) {
    const amount = (period.per_hour * (opts.durationSeconds ?? 0)) / 3600;
    return { amount, byBucket: {}, unpriced: [], perHour: true };
  }
  const tierPrices = opts.serviceTier ? period.service_tiers?.[opts.serviceTier] : undefined;
  const ctx = contextTier(period, usage.inputTotal);
  const prices = resolvedPrices(period, tierPrices ? opts.serviceTier : undefined, ctx);

  let amount = 0;
  const byBucket: Partial<Record<Bucket, number>> = {};
  let unpriced: Bucket[] | undefined;
  for (let i = 0; i < BUCKETS.length; i++) {
    const b = BUCKETS[i] as Bucket;
    const tokens = usage.buckets[b];
    if (tokens <= 0) continue;
    const perMTok = prices[i] as number;
    if (Number.isNaN(perMTok)) {
      unpriced ??= [];
      unpriced.push(b);
      continue;
    }
    const c = (tokens * perMTok) / 1_000_000;
    byBucket[b] = c;
    amount += c;
  }
  return {
    amount,
    byBucket,
    unpriced: unpriced ?? NONE,
    ...(ctx ? { contextTier: ctx.above } : {}),
    ...(tierPrices && opts.serviceTier ? { serviceTier: opts.serviceTier } : {}),
    perHour: false,
  };
}

const NONE: readonly Bucket[] = [];

/** Per-bucket prices (NaN = none) of a period, service tier and context tier, resolved once and kept. */
const resolved = new WeakMap<PricePeriod, Map<string, Float64Array>>();

/**
 * A bucket's price comes from the service tier's prices if it has one, else the context tier's,
 * else the base price; a bucket with none of those takes its FALLBACK bucket's price the same way,
 * or stays unpriced.
 */
function resolvedPrices(
  period: PricePeriod,
  serviceTier: ServiceTier | undefined,
  ctx: ContextTier | undefined,
): Float64Array {
  let byKey = resolved.get(period);
  if (!byKey) {
    byKey = new Map();
    resolved.set(period, byKey);
  }
  const key = `${serviceTier ?? ''}/${ctx?.above ?? ''}`;
  let prices = byKey.get(key);
  if (prices) return prices;
  const tierPrices = serviceTier ? period.service_tiers?.[serviceTier] : undefined;
  const sources: readonly BucketPrices[] = [tierPrices, ctx, period].filter(
    (x): x is BucketPrices => x !== undefined,
  );
  prices = new Float64Array(BUCKETS.length);
  BUCKETS.forEach((b, i) => {
    let price = Number.NaN;
    for (let cur: Bucket | undefined = b; cur !== undefined && Number.isNaN(price); cur = FALLBACK[cur]) {
      for (const src of sources) {
        const v = src[cur];
        if (v !== undefined) {
          price = v;
          break;
        }
      }
    }
    prices[i] = price;
  });
  byKey.set(key, prices);
  return prices;
}
