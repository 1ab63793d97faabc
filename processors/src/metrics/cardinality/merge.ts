/**
 * Merging data points that share an attribute set (after filtering, value caps or overflow), so each
 * series appears once per request. Merges are exact where the data allows it:
 *
 * - number points: `sum` adds values (int + int stays int, exactly, in 64 bits; int + double becomes
 *   double), `last` keeps the point with the latest `timeUnixNano` (gauges);
 * - histograms with identical explicit bounds: counts, bucket counts and sums add, min/max combine;
 *   different bounds cannot be merged without inventing a distribution: `false`, the caller drops and
 *   counts the point;
 * - exponential histograms: at different scales both are first downscaled to the smaller one
 *   (merging adjacent buckets loses no count), and further while the merged range would need more
 *   than 160 buckets (the SDK's default max_size), as the SDK's own merge does;
 * - summaries cannot be merged (quantiles of a union are unknown): `false`.
 *
 * Every merged point covers both inputs' time: the earliest non-zero start, the latest time. A point
 * flagged NO_RECORDED_VALUE adds nothing. Exemplars are concatenated up to {@link MAX_EXEMPLARS}.
 * `into` is changed in place; `from` is left alone (arrays in `into` are replaced, never pushed to:
 * protobufjs shares frozen empty arrays between messages).
 */
import type {
  ExponentialHistogramBuckets,
  ExponentialHistogramDataPoint,
  HistogramDataPoint,
  Int64,
  NumberDataPoint,
  SummaryDataPoint,
} from '../../otlp/model.ts';
import { addInt64, compareInt64, int64ToNumber, isZeroInt64 } from './int64.ts';
import { has } from './series-key.ts';

export type PointKind = 'gauge' | 'sum' | 'histogram' | 'exponentialHistogram' | 'summary';
export type DataPoint =
  | NumberDataPoint
  | HistogramDataPoint
  | ExponentialHistogramDataPoint
  | SummaryDataPoint;

/** How number points of one series combine: gauges keep the latest, sums add. */
export type NumberMerge = 'sum' | 'last';

/** Exemplars kept on a merged point (an overflow point would otherwise collect one per input). */
export const MAX_EXEMPLARS = 8;
/** The OTel SDK's default max_size for exponential histograms. */
export const MAX_EXPONENTIAL_BUCKETS = 160;
/** The smallest scale OTLP allows. */
const MIN_SCALE = -10;
/** DataPointFlags.FLAG_NO_RECORDED_VALUE. */
const NO_RECORDED_VALUE = 1;

interface Timed {
  startTimeUnixNano?: Int64;
  timeUnixNano?: Int64;
  flags?: number;
}

function noValue(p: Timed): boolean {
  return ((p.flags ?? 0) & NO_RECORDED_VALUE) !== 0;
}

/** Earliest non-zero start (0 means unknown), latest time. */
function mergeTimes(into: Timed, from: Timed): void {
  const fs = from.startTimeUnixNano;
  if (
    !isZeroInt64(fs) &&
    (isZeroInt64(into.startTimeUnixNano) || compareInt64(fs, into.startTimeUnixNano) < 0)
  )
    into.startTimeUnixNano = fs;
  if (compareInt64(from.timeUnixNano, into.timeUnixNano) > 0) into.timeUnixNano = from.timeUnixNano;
}

function mergeExemplars(into: { exemplars: NumberDataPoint['exemplars'] }, from: typeof into): void {
  const a = into.exemplars ?? [];
  const b = from.exemplars ?? [];
  if (b.length === 0 || a.length >= MAX_EXEMPLARS) return;
  into.exemplars = a.concat(b.slice(0, MAX_EXEMPLARS - a.length));
}

function numberValue(p: NumberDataPoint): number {
  if (has(p, 'asInt')) return int64ToNumber(p.asInt);
  if (has(p, 'asDouble')) return p.asDouble as number;
  return 0;
}

function setInt(p: NumberDataPoint, v: Int64): void {
  p.asInt = v;
  if (Object.hasOwn(p, 'asDouble')) p.asDouble = null;
}

function setDouble(p: NumberDataPoint, v: number): void {
  p.asDouble = v;
  if (Object.hasOwn(p, 'asInt')) p.asInt = null;
}

/** Makes `into` carry `from`'s value, times, exemplars and flags (its attributes stay). */
function replaceNumber(into: NumberDataPoint, from: NumberDataPoint): void {
  if (has(from, 'asInt')) setInt(into, from.asInt as Int64);
  else if (has(from, 'asDouble')) setDouble(into, from.asDouble as number);
  into.startTimeUnixNano = from.startTimeUnixNano;
  into.timeUnixNano = from.timeUnixNano;
  into.exemplars = from.exemplars ?? [];
  into.flags = from.flags;
}

/** Merges number point `from` into `into`: values add (`sum`) or the latest wins (`last`). */
export function mergeNumberPoint(into: NumberDataPoint, from: NumberDataPoint, mode: NumberMerge): void {
  if (noValue(from)) return;
  if (noValue(into)) {
    replaceNumber(into, from);
    return;
  }
  if (mode === 'last') {
    if (compareInt64(from.timeUnixNano, into.timeUnixNano) >= 0) replaceNumber(into, from);
    return;
  }
  const fi = has(from, 'asInt');
  const ii = has(into, 'asInt');
  if (fi && ii) setInt(into, addInt64(into.asInt, from.asInt));
  else if (fi || has(from, 'asDouble')) {
    if (!ii && !has(into, 'asDouble')) {
      if (fi) setInt(into, from.asInt as Int64);
      else setDouble(into, from.asDouble as number);
    } else setDouble(into, numberValue(into) + numberValue(from));
  }
  mergeTimes(into, from);
  mergeExemplars(into, from);
}

interface Distribution {
  count?: Int64;
  sum?: number | null;
  min?: number | null;
  max?: number | null;
}

/** count and sum add; min/max combine; an unknown (absent) sum/min/max makes the merged one unknown. */
function mergeDistribution(into: Distribution, from: Distribution): void {
  into.count = addInt64(into.count, from.count);
  const intoHas = has(into, 'sum');
  if (intoHas && has(from, 'sum')) into.sum = (into.sum as number) + (from.sum as number);
  else if (intoHas) into.sum = null;
  if (has(into, 'min') && has(from, 'min')) into.min = Math.min(into.min as number, from.min as number);
  else if (has(into, 'min')) into.min = null;
  if (has(into, 'max') && has(from, 'max')) into.max = Math.max(into.max as number, from.max as number);
  else if (has(into, 'max')) into.max = null;
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Merges histogram point `from` into `into` when both have the same explicit bounds (and bucket
 * count arrays of the same length); returns false, changing nothing, when they do not.
 */
export function mergeHistogramPoint(into: HistogramDataPoint, from: HistogramDataPoint): boolean {
  if (noValue(from)) return true;
  const ib = into.bucketCounts ?? [];
  const fb = from.bucketCounts ?? [];
  if (noValue(into)) {
    Object.assign(into, { ...from, attributes: into.attributes });
    return true;
  }
  if (!sameBounds(into.explicitBounds ?? [], from.explicitBounds ?? []) || ib.length !== fb.length)
    return false;
  const counts: Int64[] = new Array(ib.length);
  for (let i = 0; i < ib.length; i++) counts[i] = addInt64(ib[i], fb[i]);
  into.bucketCounts = counts;
  mergeDistribution(into, from);
  mergeTimes(into, from);
  mergeExemplars(into, from);
  return true;
}

type Buckets = ExponentialHistogramBuckets | null | undefined;

/** [lowest, highest] bucket index of `b` after downscaling by `shift`, or undefined when empty. */
function range(b: Buckets, shift: number): [number, number] | undefined {
  const n = b?.bucketCounts?.length ?? 0;
  if (!b || n === 0) return undefined;
  const offset = b.offset ?? 0;
  return [offset >> shift, (offset + n - 1) >> shift];
}

function width(a: Buckets, sa: number, b: Buckets, sb: number): number {
  const ra = range(a, sa);
  const rb = range(b, sb);
  if (!ra && !rb) return 0;
  const lo = Math.min(ra?.[0] ?? Number.POSITIVE_INFINITY, rb?.[0] ?? Number.POSITIVE_INFINITY);
  const hi = Math.max(ra?.[1] ?? Number.NEGATIVE_INFINITY, rb?.[1] ?? Number.NEGATIVE_INFINITY);
  return hi - lo + 1;
}

function mergeBuckets(
  a: Buckets,
  sa: number,
  b: Buckets,
  sb: number,
): ExponentialHistogramBuckets | undefined {
  const ra = range(a, sa);
  const rb = range(b, sb);
  if (!ra && !rb) return undefined;
  const lo = Math.min(ra?.[0] ?? Number.POSITIVE_INFINITY, rb?.[0] ?? Number.POSITIVE_INFINITY);
  const hi = Math.max(ra?.[1] ?? Number.NEGATIVE_INFINITY, rb?.[1] ?? Number.NEGATIVE_INFINITY);
  const counts: Int64[] = new Array(hi - lo + 1).fill(0);
  for (const [src, shift] of [
    [a, sa],
    [b, sb],
  ] as const) {
    if (!src) continue;
    const offset = src.offset ?? 0;
    const sc = src.bucketCounts ?? [];
    for (let i = 0; i < sc.length; i++) {
      const j = ((offset + i) >> shift) - lo;
      counts[j] = addInt64(counts[j], sc[i]);
    }
  }
  return { offset: lo, bucketCounts: counts };
}

/**
 * Merges exponential histogram point `from` into `into`, downscaling to a common scale (the smaller
 * one, or smaller still to keep at most {@link MAX_EXPONENTIAL_BUCKETS} buckets per range). The
 * zero threshold becomes the larger of the two (buckets are not moved into the zero bucket: OTel
 * SDKs all use threshold 0). Always succeeds.
 */
export function mergeExponentialHistogramPoint(
  into: ExponentialHistogramDataPoint,
  from: ExponentialHistogramDataPoint,
): void {
  if (noValue(from)) return;
  if (noValue(into)) {
    Object.assign(into, { ...from, attributes: into.attributes });
    return;
  }
  const si = into.scale ?? 0;
  const sf = from.scale ?? 0;
  let scale = Math.min(si, sf);
  while (
    scale > MIN_SCALE &&
    (width(into.positive, si - scale, from.positive, sf - scale) > MAX_EXPONENTIAL_BUCKETS ||
      width(into.negative, si - scale, from.negative, sf - scale) > MAX_EXPONENTIAL_BUCKETS)
  )
    scale--;
  const positive = mergeBuckets(into.positive, si - scale, from.positive, sf - scale);
  const negative = mergeBuckets(into.negative, si - scale, from.negative, sf - scale);
  if (positive) into.positive = positive;
  if (negative) into.negative = negative;
  into.scale = scale;
  into.zeroCount = addInt64(into.zeroCount, from.zeroCount);
  const zt = Math.max(into.zeroThreshold ?? 0, from.zeroThreshold ?? 0);
  if (zt !== (into.zeroThreshold ?? 0)) into.zeroThreshold = zt;
  mergeDistribution(into, from);
  mergeTimes(into, from);
  mergeExemplars(into, from);
}

/**
 * Merges `from` into `into` for a metric of the given kind; false when the points cannot be merged
 * (summaries; histograms with different bounds), in which case `into` is unchanged.
 */
export function mergePoint(kind: PointKind, into: DataPoint, from: DataPoint): boolean {
  switch (kind) {
    case 'gauge':
      mergeNumberPoint(into as NumberDataPoint, from as NumberDataPoint, 'last');
      return true;
    case 'sum':
      mergeNumberPoint(into as NumberDataPoint, from as NumberDataPoint, 'sum');
      return true;
    case 'histogram':
      return mergeHistogramPoint(into as HistogramDataPoint, from as HistogramDataPoint);
    case 'exponentialHistogram':
      mergeExponentialHistogramPoint(
        into as ExponentialHistogramDataPoint,
        from as ExponentialHistogramDataPoint,
      );
      return true;
    case 'summary':
      return false;
  }
}
