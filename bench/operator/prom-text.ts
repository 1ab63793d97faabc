/** The few Prometheus text-format readings the operator benchmark needs: sums and histogram quantiles. */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseSamples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL))
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, '$1');
    const raw = m[3] as string;
    const value =
      raw === '+Inf' ? Number.POSITIVE_INFINITY : raw === '-Inf' ? Number.NEGATIVE_INFINITY : Number(raw);
    out.push({ name: m[1] as string, labels, value });
  }
  return out;
}

export type LabelFilter = Readonly<Record<string, string>>;

function matches(s: Sample, name: string, filter: LabelFilter): boolean {
  return s.name === name && Object.entries(filter).every(([k, v]) => s.labels[k] === v);
}

/** Sum of every sample of `name` whose labels include `filter`. */
export function sum(samples: readonly Sample[], name: string, filter: LabelFilter = {}): number {
  let total = 0;
  for (const s of samples) if (matches(s, name, filter)) total += s.value;
  return total;
}

/** Sums of `name` by the values of `keys`, e.g. requests by verb and resource. */
export function sumBy(
  samples: readonly Sample[],
  name: string,
  keys: readonly string[],
  filter: LabelFilter = {},
): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples) {
    if (!matches(s, name, filter)) continue;
    const key = keys.map((k) => s.labels[k] ?? '').join(' ');
    out.set(key, (out.get(key) ?? 0) + s.value);
  }
  return out;
}

export interface Histogram {
  /** Cumulative counts by upper bound, ascending, +Inf last. */
  readonly buckets: readonly (readonly [number, number])[];
  readonly count: number;
  readonly sum: number;
}

/** Histogram `name` (its _bucket/_count/_sum series) summed over the series whose labels include `filter`. */
export function histogram(samples: readonly Sample[], name: string, filter: LabelFilter = {}): Histogram {
  const byLe = new Map<number, number>();
  for (const s of samples) {
    if (!matches(s, `${name}_bucket`, filter)) continue;
    const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le);
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  return {
    buckets: [...byLe.entries()].sort((a, b) => a[0] - b[0]),
    count: sum(samples, `${name}_count`, filter),
    sum: sum(samples, `${name}_sum`, filter),
  };
}

/** What was observed between two scrapes of the same histogram. */
export function histogramDelta(before: Histogram, after: Histogram): Histogram {
  const prior = new Map(before.buckets);
  return {
    buckets: after.buckets.map(([le, c]) => [le, c - (prior.get(le) ?? 0)] as const),
    count: after.count - before.count,
    sum: after.sum - before.sum,
  };
}

/**
 * The q-quantile (0..1) as PromQL's histogram_quantile computes it: linear inside the bucket that holds
 * the rank, the lower bound of the first bucket taken as 0, and the last finite bound when the rank
 * falls in +Inf. NaN when nothing was observed.
 */
export function quantile(h: Histogram, q: number): number {
  const total = h.buckets.at(-1)?.[1] ?? 0;
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of h.buckets) {
    if (count >= rank) {
      if (le === Number.POSITIVE_INFINITY) return prevLe;
      if (count === prevCount) return le;
      return prevLe + ((le - prevLe) * (rank - prevCount)) / (count - prevCount);
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}
