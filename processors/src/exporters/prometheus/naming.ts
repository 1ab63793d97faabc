/**
 * OTLP → Prometheus names, after the Collector's Prometheus translator (prometheus/otlptranslator,
 * strategy `UnderscoreEscapingWithSuffixes`, or `…WithoutSuffixes` when `add_metric_suffixes: false`).
 * Everything here is pure; the tables are the translator's own.
 */

/** The OTLP shape of a metric, which decides its suffixes (`_total` for counters, `_ratio` for gauges of unit `1`). */
export type OtlpKind =
  | 'gauge'
  | 'monotonic_sum'
  | 'non_monotonic_sum'
  | 'histogram'
  | 'exponential_histogram'
  | 'summary';

/** UCUM unit → the Prometheus unit word appended to a metric name. Unknown units are used as written. */
const UNIT_WORDS: Readonly<Record<string, string>> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tibibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '1': '',
  '%': 'percent',
};

/** The denominator of a `x/y` unit, in the singular: `By/s` → `bytes_per_second`. */
const PER_UNIT_WORDS: Readonly<Record<string, string>> = {
  s: 'second',
  m: 'minute',
  h: 'hour',
  d: 'day',
  w: 'week',
  mo: 'month',
  y: 'year',
};

const VALID_METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const VALID_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function own(table: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** `[^a-zA-Z0-9:_]` runs become one `_`, with none at either end: a namespace or an unsuffixed name. */
export function escapeMetricName(s: string): string {
  return s
    .split(/[^a-zA-Z0-9:_]+/u)
    .filter((t) => t !== '')
    .join('_');
}

/** A unit word made of metric-name characters: invalid runs become one `_`, no leading `_`. */
function cleanUnit(unit: string): string {
  return unit
    .replace(/[^a-zA-Z0-9:]/gu, '_')
    .replace(/__+/g, '_')
    .replace(/^_/, '');
}

/** The main and per-unit suffixes of a UCUM unit; `{annotations}` contribute nothing. */
export function unitSuffixes(unit: string): { main: string; per: string } {
  const slash = unit.indexOf('/');
  const mainOtel = (slash < 0 ? unit : unit.slice(0, slash)).trim();
  const perRaw = slash < 0 ? '' : unit.slice(slash + 1);
  let main = '';
  if (mainOtel !== '' && !/[{}]/.test(mainOtel)) main = own(UNIT_WORDS, mainOtel) ?? mainOtel;
  let per = '';
  const perOtel = perRaw.trim();
  if (perOtel !== '' && !/[{}]/.test(perOtel)) {
    const word = own(PER_UNIT_WORDS, perOtel) ?? perOtel;
    if (word !== '') per = `per_${word}`;
  }
  return { main: cleanUnit(main), per: cleanUnit(per) };
}

export interface NamingOptions {
  /** Already escaped (see escapeMetricName); '' for none. */
  readonly namespace: string;
  readonly addMetricSuffixes: boolean;
}

/**
 * The Prometheus metric family name of an OTLP metric, or undefined when nothing valid is left
 * (e.g. a name of only punctuation). With suffixes: the name is split into `[a-zA-Z0-9:]` tokens,
 * the unit words are appended unless already among them, `total` moves to the end of counters and
 * `ratio` to the end of gauges of unit `1`, and the namespace goes in front.
 */
export function metricFamilyName(
  name: string,
  unit: string,
  kind: OtlpKind,
  opts: NamingOptions,
): string | undefined {
  let out: string;
  if (opts.addMetricSuffixes) {
    let tokens = name.split(/[^a-zA-Z0-9:]+/u).filter((t) => t !== '');
    if (tokens.length === 0) return undefined;
    let { main, per } = unitSuffixes(unit);
    if (tokens.includes(main)) main = '';
    if (per === 'per_') per = '';
    else {
      per = per.replace(/_$/, '');
      if (tokens.includes(per)) per = '';
    }
    if (per !== '') main = main.replace(/_$/, '');
    if (main !== '') tokens.push(main);
    if (per !== '') tokens.push(per);
    if (kind === 'monotonic_sum') tokens = [...tokens.filter((t) => t !== 'total'), 'total'];
    if (unit === '1' && kind === 'gauge') tokens = [...tokens.filter((t) => t !== 'ratio'), 'ratio'];
    if (opts.namespace !== '') tokens.unshift(opts.namespace);
    out = tokens.join('_');
  } else {
    const escaped = escapeMetricName(name);
    if (escaped === '') return undefined;
    out = opts.namespace !== '' ? `${opts.namespace}_${escaped}` : escaped;
  }
  if (/^[0-9]/.test(out)) out = `_${out}`;
  if (!VALID_METRIC_NAME.test(out) || /^_+$/.test(out)) return undefined;
  return out;
}

/**
 * A Prometheus label name for an attribute key: every rune outside `[a-zA-Z0-9_]` becomes `_`, a
 * leading digit gets `key_` and a single leading `_` gets `key` in front. Undefined for keys that
 * cannot be a label: empty, only underscores, or `__`-prefixed (Prometheus reserves those).
 */
export function labelName(key: string): string | undefined {
  if (key === '') return undefined;
  let out = key.replace(/[^a-zA-Z0-9_]/gu, '_');
  if (/^[0-9]/.test(out)) out = `key_${out}`;
  else if (out.startsWith('_') && !out.startsWith('__')) out = `key${out}`;
  if (out.startsWith('__') || /^_+$/.test(out) || !VALID_LABEL_NAME.test(out)) return undefined;
  return out;
}

/**
 * A float as Go's `strconv.FormatFloat(v, 'g', -1, 64)` writes it, which is how the Collector's
 * exporter (client_golang) spells sample values and `le`/`quantile` labels: the shortest digits that
 * round-trip, in exponent form when the decimal exponent is below -4 or at least 6 (`1e+06`,
 * `1.5e-05`, at least two exponent digits), and `+Inf`, `-Inf`, `NaN`.
 */
export function formatFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const [mantissa = '', expText = '0'] = v.toExponential().split('e');
  const exp = Number(expText);
  // Between 1e-4 and 1e6 JavaScript's own shortest form is already Go's.
  if (exp >= -4 && exp < 6) return String(v);
  return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}
