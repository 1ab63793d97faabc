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
  const tierPrices = opts.serviceTier ? period.service_tiers?.[opts.serviceTier] : undefined;
  const ctx = contextTier(period, usage.inputTotal);
  const sources: readonly BucketPrices[] = [tierPrices, ctx, period].filter(
    (s): s is BucketPrices => s !== undefined,
  );
  const priceOf = (b: Bucket): number | undefined => {
    for (let cur: Bucket | undefined = b; cur !== undefined; cur = FALLBACK[cur]) {
      for (const s of sources) {
        const v = s[cur];
        if (v !== undefined) return v;
      }
    }
    return undefined;
  };

  const hasTokenPrices = period.input !== undefined || period.output !== undefined;
  if (!hasTokenPrices && period.per_hour !== undefined) {
    const amount = (period.per_hour * (opts.durationSeconds ?? 0)) / 3600;
    return { amount, byBucket: {}, unpriced: [], perHour: true };
  }

  let amount = 0;
  const byBucket: Partial<Record<Bucket, number>> = {};
  const unpriced: Bucket[] = [];
  for (const b of BUCKETS) {
    const tokens = usage.buckets[b];
    if (tokens <= 0) continue;
    const perMTok = priceOf(b);
    if (perMTok === undefined) {
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
    unpriced,
    ...(ctx ? { contextTier: ctx.above } : {}),
    ...(tierPrices && opts.serviceTier ? { serviceTier: opts.serviceTier } : {}),
    perHour: false,
  };
}
