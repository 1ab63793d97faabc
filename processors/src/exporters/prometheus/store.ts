import { type ExpHistogram, mergeExp } from './exphist.ts';

/** The Prometheus metric types this exporter writes. */
export type FamilyType = 'counter' | 'gauge' | 'histogram' | 'summary';

export interface ExplicitHistogram {
  /** Strictly increasing, finite; `counts` has one more entry (the +Inf bucket), or none at all. */
  readonly bounds: readonly number[];
  readonly counts: readonly number[];
  readonly count: number;
  readonly sum: number | undefined;
}

export interface Summary {
  /** `[quantile, value]`, quantiles ascending and distinct. */
  readonly quantiles: readonly (readonly [number, number])[];
  readonly count: number;
  readonly sum: number;
}

export type PointValue =
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'histogram'; readonly histogram: ExplicitHistogram }
  | { readonly kind: 'exponential'; readonly histogram: ExpHistogram }
  | { readonly kind: 'summary'; readonly summary: Summary };

/** The labels of a resource's `target_info` series, rendered (see exposition.ts `labelBody`). */
export interface ResourceInfo {
  readonly labels: string;
}

/** One OTLP data point, translated: which series it updates and how. */
export interface PointUpdate {
  /** The Prometheus family name, e.g. `gen_ai_client_token_usage`. */
  readonly family: string;
  readonly type: FamilyType;
  readonly help: string;
  /** The OTLP metric name, for log lines. */
  readonly metric: string;
  /** The rendered, sorted label pairs that identify the series within its family. */
  readonly labels: string;
  readonly resource: ResourceInfo | undefined;
  readonly startNs: bigint;
  readonly timeNs: bigint;
  /** DELTA temporality: added to the running total instead of replacing it. */
  readonly delta: boolean;
  /** Undefined for a point flagged "no recorded value": the series goes away. */
  readonly value: PointValue | undefined;
}

/** Points that were not (or will not be) exported, and why; counted as dropped with reason `invalid`. */
export interface Problem {
  readonly metric: string;
  readonly reason: string;
  points: number;
}

export interface Series {
  readonly labels: string;
  resource: ResourceInfo | undefined;
  startNs: bigint;
  timeNs: bigint;
  value: PointValue;
  /** Wall clock (ms) of the last update, for metric_expiration. */
  updatedAt: number;
  /** `[start, time]` of the last delta point added, to recognise the same point sent twice. */
  lastDelta: readonly [bigint, bigint] | undefined;
}

export interface Family {
  readonly name: string;
  readonly type: FamilyType;
  help: string;
  readonly series: Map<string, Series>;
}

/** Sample names a family writes: a histogram `x` also owns `x_bucket`, `x_sum` and `x_count`. */
export function sampleNames(name: string, type: FamilyType): string[] {
  if (type === 'histogram') return [name, `${name}_bucket`, `${name}_sum`, `${name}_count`];
  if (type === 'summary') return [name, `${name}_sum`, `${name}_count`];
  return [name];
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** `running + delta`, or undefined when they cannot be added (different kinds or bucket bounds). */
export function addDelta(running: PointValue, delta: PointValue): PointValue | undefined {
  if (running.kind === 'number' && delta.kind === 'number') {
    return { kind: 'number', value: running.value + delta.value };
  }
  if (running.kind === 'histogram' && delta.kind === 'histogram') {
    const a = running.histogram;
    const b = delta.histogram;
    if (!sameBounds(a.bounds, b.bounds) || a.counts.length !== b.counts.length) return undefined;
    return {
      kind: 'histogram',
      histogram: {
        bounds: a.bounds,
        counts: a.counts.map((c, i) => c + (b.counts[i] ?? 0)),
        count: a.count + b.count,
        sum: a.sum === undefined || b.sum === undefined ? undefined : a.sum + b.sum,
      },
    };
  }
  if (running.kind === 'exponential' && delta.kind === 'exponential') {
    return { kind: 'exponential', histogram: mergeExp([running.histogram, delta.histogram]) };
  }
  return undefined;
}

function problem(problems: Map<string, Problem>, metric: string, reason: string): void {
  const key = `${metric}\u0000${reason}`;
  const p = problems.get(key);
  if (p) p.points++;
  else problems.set(key, { metric, reason, points: 1 });
}

/**
 * The exporter's state: the latest value of every series, by family. Cumulative points replace
 * the value (unless older than it), DELTA points add to a running total. A family name belongs
 * to the first type that claimed it until all its series expire; points of another type under
 * the same name (or a name another family's samples already use) are refused.
 */
export class MetricStore {
  readonly #families = new Map<string, Family>();
  /** Sample name → the family writing it ('' for names kept back, like target_info). */
  readonly #owners = new Map<string, string>();
  readonly #expirationMs: number;

  /** `reserved`: names the exporter writes itself (target_info), never given to a metric. */
  constructor(expirationMs: number, reserved: readonly string[] = []) {
    this.#expirationMs = expirationMs;
    for (const name of reserved) this.#owners.set(name, '');
  }

  get seriesCount(): number {
    let n = 0;
    for (const f of this.#families.values()) n += f.series.size;
    return n;
  }

  /** Families, sorted by name. */
  families(): Family[] {
    return [...this.#families.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Applies translated points at wall-clock `now` (ms); returns how many were applied and what was refused. */
  apply(updates: readonly PointUpdate[], now: number): { applied: number; problems: Problem[] } {
    const problems = new Map<string, Problem>();
    let applied = 0;
    for (const u of updates) {
      const refused = this.#applyOne(u, now);
      if (refused === undefined) applied++;
      else problem(problems, u.metric, refused);
    }
    return { applied, problems: [...problems.values()] };
  }

  /** Undefined when applied, else why not. */
  #applyOne(u: PointUpdate, now: number): string | undefined {
    let family = this.#families.get(u.family);
    // A family whose series all expired no longer holds its name, swept or not.
    if (family && family.type !== u.type && this.#sweepFamily(family, now)) family = undefined;
    if (family && family.type !== u.type) {
      return `type conflict: ${u.family} is already a ${family.type}, this point is a ${u.type}`;
    }
    if (!family) {
      if (u.value === undefined) return undefined;
      for (const name of sampleNames(u.family, u.type)) {
        let owner = this.#owners.get(name);
        const holder = owner ? this.#families.get(owner) : undefined;
        if (holder && this.#sweepFamily(holder, now)) owner = undefined;
        if (owner !== undefined) {
          return owner === ''
            ? `name conflict: ${name} is written by the exporter itself`
            : `name conflict: ${name} is already a sample of the ${this.#families.get(owner)?.type} ${owner}`;
        }
      }
      family = { name: u.family, type: u.type, help: u.help, series: new Map() };
      this.#families.set(u.family, family);
      for (const name of sampleNames(u.family, u.type)) this.#owners.set(name, u.family);
    }
    if (family.help === '' && u.help !== '') family.help = u.help;

    let series = family.series.get(u.labels);
    // Expired but not swept yet: it starts over, as if it had been swept.
    if (series && now - series.updatedAt > this.#expirationMs) series = undefined;
    if (u.value === undefined) {
      if (series) family.series.delete(u.labels);
      if (family.series.size === 0) this.#removeFamily(family);
      return undefined;
    }
    if (!series) {
      family.series.set(u.labels, {
        labels: u.labels,
        resource: u.resource,
        startNs: u.startNs,
        timeNs: u.timeNs,
        value: u.value,
        updatedAt: now,
        lastDelta: u.delta ? [u.startNs, u.timeNs] : undefined,
      });
      return undefined;
    }
    if (u.delta) {
      const last = series.lastDelta;
      if (last && u.timeNs !== 0n && last[0] === u.startNs && last[1] === u.timeNs) {
        return 'duplicate: the same delta point (start and time) was already added';
      }
      const sum = addDelta(series.value, u.value);
      if (sum === undefined) {
        // Bucket bounds changed: start over, which Prometheus reads as a counter reset.
        series.value = u.value;
        series.startNs = u.startNs;
      } else series.value = sum;
      if (u.timeNs > series.timeNs) series.timeNs = u.timeNs;
      series.lastDelta = [u.startNs, u.timeNs];
    } else {
      if (u.timeNs !== 0n && u.timeNs < series.timeNs) {
        return 'out of order: older than the value already exported';
      }
      series.value = u.value;
      series.startNs = u.startNs;
      series.timeNs = u.timeNs;
      series.lastDelta = undefined;
    }
    series.resource = u.resource;
    series.updatedAt = now;
    return undefined;
  }

  #removeFamily(family: Family): void {
    this.#families.delete(family.name);
    for (const name of sampleNames(family.name, family.type)) {
      if (this.#owners.get(name) === family.name) this.#owners.delete(name);
    }
  }

  /** Drops the family's expired series; true when none is left (the family is gone then). */
  #sweepFamily(family: Family, now: number): boolean {
    for (const [key, s] of family.series) {
      if (now - s.updatedAt > this.#expirationMs) family.series.delete(key);
    }
    if (family.series.size > 0) return false;
    this.#removeFamily(family);
    return true;
  }

  /** Drops series not updated for longer than metric_expiration, and families left empty; returns how many series went. */
  sweep(now: number): number {
    const before = this.seriesCount;
    for (const family of [...this.#families.values()]) this.#sweepFamily(family, now);
    return before - this.seriesCount;
  }
}
