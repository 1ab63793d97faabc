/**
 * OTLP exponential histograms, kept in their own form so that deltas can be added up, and turned into
 * classic `le` buckets when scraped (the text format has no native histograms).
 */

export interface ExpBuckets {
  /** Index of the first count; bucket `i` holds |v| in (base^i, base^(i+1)], base = 2^(2^-scale). */
  readonly offset: number;
  readonly counts: readonly number[];
}

export interface ExpHistogram {
  readonly scale: number;
  readonly zeroCount: number;
  readonly zeroThreshold: number;
  readonly positive: ExpBuckets;
  readonly negative: ExpBuckets;
  readonly count: number;
  /** Undefined when a point did not say (OTLP's sum is optional). */
  readonly sum: number | undefined;
}

/** OTLP's valid scales. */
export const MIN_SCALE = -10;
export const MAX_SCALE = 20;

/**
 * At most this many buckets on each side, as the SDKs' default max_size: adding deltas whose ranges
 * drift apart lowers the scale (halving the resolution) instead of growing memory.
 */
export const MAX_BUCKETS = 160;

const EMPTY: ExpBuckets = { offset: 0, counts: [] };

/** Index `i` at a scale lower by `shift`: floor(i / 2^shift), for any shift (`>>` wraps at 32). */
function down(i: number, shift: number): number {
  return shift === 0 ? i : Math.floor(i / 2 ** shift);
}

function range(b: ExpBuckets, shift: number): [number, number] | undefined {
  if (b.counts.length === 0) return undefined;
  return [down(b.offset, shift), down(b.offset + b.counts.length - 1, shift)];
}

/** Buckets at a scale lower by `shift`: index i becomes floor(i / 2^shift), counts add up. */
function downscale(b: ExpBuckets, shift: number): ExpBuckets {
  const r = range(b, shift);
  if (!r) return EMPTY;
  const counts = new Array<number>(r[1] - r[0] + 1).fill(0);
  for (let i = 0; i < b.counts.length; i++) {
    const at = down(b.offset + i, shift) - r[0];
    counts[at] = (counts[at] ?? 0) + (b.counts[i] ?? 0);
  }
  return { offset: r[0], counts };
}

function addBuckets(a: ExpBuckets, b: ExpBuckets): ExpBuckets {
  if (a.counts.length === 0) return b;
  if (b.counts.length === 0) return a;
  const lo = Math.min(a.offset, b.offset);
  const hi = Math.max(a.offset + a.counts.length, b.offset + b.counts.length);
  const counts = new Array<number>(hi - lo).fill(0);
  for (const x of [a, b]) {
    for (let i = 0; i < x.counts.length; i++) {
      const at = x.offset - lo + i;
      counts[at] = (counts[at] ?? 0) + (x.counts[i] ?? 0);
    }
  }
  return { offset: lo, counts };
}

/** How many buckets one side spans once every part is `extra` scales lower still. */
function span(side: readonly (readonly [ExpBuckets, number])[], extra: number): number {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const [b, shift] of side) {
    const r = range(b, shift + extra);
    if (!r) continue;
    lo = Math.min(lo, r[0]);
    hi = Math.max(hi, r[1]);
  }
  return hi < lo ? 0 : hi - lo + 1;
}

/**
 * The sum of histograms (one alone is just bounded to MAX_BUCKETS): every one is brought down to the
 * lowest scale among them, lower still if the combined range needs it, and counts add up.
 */
export function mergeExp(parts: readonly ExpHistogram[]): ExpHistogram {
  const first = parts[0];
  if (!first) throw new Error('mergeExp needs at least one histogram');
  const minScale = Math.min(...parts.map((p) => p.scale));
  const pos = parts.map((p) => [p.positive, p.scale - minScale] as const);
  const neg = parts.map((p) => [p.negative, p.scale - minScale] as const);
  let extra = 0;
  while (span(pos, extra) > MAX_BUCKETS || span(neg, extra) > MAX_BUCKETS) extra++;
  const scale = minScale - extra;
  let positive: ExpBuckets = EMPTY;
  let negative: ExpBuckets = EMPTY;
  let zeroCount = 0;
  let count = 0;
  let sum: number | undefined = 0;
  let zeroThreshold = 0;
  for (const p of parts) {
    positive = addBuckets(positive, downscale(p.positive, p.scale - scale));
    negative = addBuckets(negative, downscale(p.negative, p.scale - scale));
    zeroCount += p.zeroCount;
    count += p.count;
    sum = sum === undefined || p.sum === undefined ? undefined : sum + p.sum;
    zeroThreshold = Math.max(zeroThreshold, p.zeroThreshold);
  }
  return { scale, zeroCount, zeroThreshold, positive, negative, count, sum };
}

/** base^index for a scale: 2^(index · 2^-scale), exact in the exponent for every valid scale. */
function power(index: number, scale: number): number {
  return 2 ** (scale >= 0 ? index / 2 ** scale : index * 2 ** -scale);
}

/**
 * Classic buckets: `[upper bound, cumulative count]` in ascending order, without the `+Inf` bucket
 * (which is `count`). Negative buckets come first (upper bound -base^i), then the zero bucket (upper
 * bound zero_threshold), then positive buckets (upper bound base^(i+1)). Bounds that overflow or do
 * not increase (extreme scales) are skipped: their counts fall into the next bucket up.
 */
export function classicBuckets(h: ExpHistogram): [number, number][] {
  const out: [number, number][] = [];
  let cumulative = 0;
  let last = Number.NEGATIVE_INFINITY;
  const emit = (bound: number, n: number) => {
    cumulative += n;
    if (!Number.isFinite(bound) || bound <= last) return;
    out.push([bound, cumulative]);
    last = bound;
  };
  const neg = h.negative;
  for (let i = neg.counts.length - 1; i >= 0; i--) emit(-power(neg.offset + i, h.scale), neg.counts[i] ?? 0);
  emit(h.zeroThreshold, h.zeroCount);
  const pos = h.positive;
  for (let i = 0; i < pos.counts.length; i++) emit(power(pos.offset + i + 1, h.scale), pos.counts[i] ?? 0);
  return out;
}
