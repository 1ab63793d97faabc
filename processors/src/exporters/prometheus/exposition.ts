import { classicBuckets } from './exphist.ts';
import { formatFloat } from './naming.ts';
import type { Family, MetricStore, PointValue, Series } from './store.ts';

/** The Prometheus text exposition format this exporter serves. */
export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** A label value inside double quotes: backslash, double quote and line feed escaped. */
export function escapeLabelValue(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\\' ? '\\\\' : c === '"' ? '\\"' : '\\n'));
}

/** HELP text: backslash and line feed escaped (quotes stay as they are). */
export function escapeHelp(v: string): string {
  return v.replace(/[\\\n]/g, (c) => (c === '\\' ? '\\\\' : '\\n'));
}

/**
 * `a="x",b="y"`: pairs sorted by name, empty values left out (Prometheus reads an empty label as an
 * absent one). Names must already be valid and distinct. Also the key of a series in its family.
 */
export function labelBody(labels: Iterable<readonly [string, string]>): string {
  const pairs = [...labels].filter(([, v]) => v !== '');
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',');
}

function braces(body: string, extra?: string): string {
  if (extra === undefined) return body === '' ? '' : `{${body}}`;
  return body === '' ? `{${extra}}` : `{${body},${extra}}`;
}

export interface RenderOptions {
  /** The target_info family name (namespace-prefixed when a namespace is set). */
  readonly targetInfoName: string;
  /** Append each sample's timestamp (ms) from its data point, as `send_timestamps` asks. */
  readonly sendTimestamps: boolean;
}

function stamp(s: Series, on: boolean): string {
  return on && s.timeNs > 0n ? ` ${s.timeNs / 1_000_000n}` : '';
}

function writeSeries(out: string[], f: Family, s: Series, ts: string): void {
  const v: PointValue = s.value;
  const name = f.name;
  switch (v.kind) {
    case 'number':
      out.push(`${name}${braces(s.labels)} ${formatFloat(v.value)}${ts}\n`);
      return;
    case 'histogram':
    case 'exponential': {
      let buckets: [number, number][];
      let count: number;
      let sum: number | undefined;
      if (v.kind === 'histogram') {
        const h = v.histogram;
        buckets = [];
        let cumulative = 0;
        for (let i = 0; i < h.bounds.length && i < h.counts.length; i++) {
          cumulative += h.counts[i] ?? 0;
          buckets.push([h.bounds[i] ?? 0, cumulative]);
        }
        ({ count, sum } = h);
      } else {
        buckets = classicBuckets(v.histogram);
        ({ count, sum } = v.histogram);
      }
      for (const [le, n] of buckets) {
        out.push(`${name}_bucket${braces(s.labels, `le="${formatFloat(le)}"`)} ${formatFloat(n)}${ts}\n`);
      }
      out.push(`${name}_bucket${braces(s.labels, 'le="+Inf"')} ${formatFloat(count)}${ts}\n`);
      if (sum !== undefined) out.push(`${name}_sum${braces(s.labels)} ${formatFloat(sum)}${ts}\n`);
      out.push(`${name}_count${braces(s.labels)} ${formatFloat(count)}${ts}\n`);
      return;
    }
    case 'summary': {
      const m = v.summary;
      for (const [q, value] of m.quantiles) {
        out.push(`${name}${braces(s.labels, `quantile="${formatFloat(q)}"`)} ${formatFloat(value)}${ts}\n`);
      }
      out.push(`${name}_sum${braces(s.labels)} ${formatFloat(m.sum)}${ts}\n`);
      out.push(`${name}_count${braces(s.labels)} ${formatFloat(m.count)}${ts}\n`);
      return;
    }
  }
}

const byLabels = (a: Series, b: Series) => (a.labels < b.labels ? -1 : a.labels > b.labels ? 1 : 0);

/**
 * The store as Prometheus text format 0.0.4: families sorted by name, series by their labels, and a
 * `target_info` gauge (value 1) per distinct resource among the series shown. HELP only when the
 * metric has a description.
 */
export function render(store: MetricStore, opts: RenderOptions): string {
  const out: string[] = [];
  const resources = new Set<string>();
  const families = store.families();
  for (const f of families)
    for (const s of f.series.values()) if (s.resource) resources.add(s.resource.labels);

  let targetInfoDone = resources.size === 0;
  const writeTargetInfo = () => {
    targetInfoDone = true;
    out.push(`# HELP ${opts.targetInfoName} Target metadata\n`, `# TYPE ${opts.targetInfoName} gauge\n`);
    for (const labels of [...resources].sort()) out.push(`${opts.targetInfoName}${braces(labels)} 1\n`);
  };
  for (const f of families) {
    if (!targetInfoDone && opts.targetInfoName < f.name) writeTargetInfo();
    if (f.help !== '') out.push(`# HELP ${f.name} ${escapeHelp(f.help)}\n`);
    out.push(`# TYPE ${f.name} ${f.type}\n`);
    for (const s of [...f.series.values()].sort(byLabels))
      writeSeries(out, f, s, stamp(s, opts.sendTimestamps));
  }
  if (!targetInfoDone) writeTargetInfo();
  return out.join('');
}
