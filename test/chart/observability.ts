import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { KUBE_REQUESTS_TOTAL } from '../../operator/src/runtime/request-metrics.ts';
import { EVENTS_DROPPED_TOTAL } from '../../operator/src/webhook/event-limit.ts';
import {
  ADMISSION_DURATION,
  CONNECTIONS_TOTAL,
  INJECTIONS_TOTAL,
} from '../../operator/src/webhook/metrics.ts';
import { metricFamilyName, type OtlpKind } from '../../processors/src/exporters/prometheus/naming.ts';
import { EVAL_INSTRUMENTS } from '../../processors/src/processors/evaluation/instruments.ts';
import {
  ALL_INSTRUMENTS,
  type Instrument,
} from '../../processors/src/processors/genaimetrics/instruments.ts';
import { SelfTelemetry } from '../../processors/src/telemetry/self-telemetry.ts';
import { repoRoot } from '../harness/cache.ts';
import { chartDir, isMap, type Values } from './chart.ts';

/** The chart's alerting rules (with `${name}` placeholders) and Grafana dashboard. */
export const alertsFile = join(chartDir, 'files', 'alerts.yaml');
export const dashboardFile = join(chartDir, 'files', 'dashboard.json');

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}
export interface RuleGroup {
  readonly name: string;
  readonly rules: AlertRule[];
}
export interface RuleFile {
  readonly groups: RuleGroup[];
}

/** The `${name}` placeholders of a text, in order of first use. */
export function placeholders(text: string): string[] {
  return [...new Set([...text.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1] ?? ''))];
}

/** A value as the chart writes it into the rules: integral numbers without a decimal point, the rest as is. */
export function formatAlertValue(v: unknown): string {
  return typeof v === 'number' && Number.isInteger(v) ? v.toFixed(0) : String(v);
}

/**
 * What the chart's "llmobs.alertRules" helper renders, done independently: files/alerts.yaml without its
 * comment lines, each `${name}` replaced by `alerts[name]`, minus the disabled alerts (and empty groups).
 */
export function expectedRules(alerts: Values, disabled: readonly string[] = []): RuleFile {
  let text = readFileSync(alertsFile, 'utf8').replace(/^[ \t]*#.*\n/gm, '');
  for (const [name, v] of Object.entries(alerts)) text = text.replaceAll(`\${${name}}`, formatAlertValue(v));
  const file = yaml.load(text) as RuleFile;
  const groups = file.groups
    .map((g) => ({ ...g, rules: g.rules.filter((r) => !disabled.includes(r.alert)) }))
    .filter((g) => g.rules.length > 0);
  return { groups };
}

/** The raw rule file (placeholders in place; still YAML, since they sit inside strings). */
export function rawRules(): RuleFile {
  return yaml.load(readFileSync(alertsFile, 'utf8')) as RuleFile;
}

/** The chart defaults of metrics.prometheusRule.alerts. */
export function defaultAlertValues(defaults: Values): Values {
  const metrics = defaults.metrics;
  if (!isMap(metrics) || !isMap(metrics.prometheusRule) || !isMap(metrics.prometheusRule.alerts))
    throw new Error('values.yaml has no metrics.prometheusRule.alerts');
  return metrics.prometheusRule.alerts;
}

// ---------------------------------------------------------------------------------------------------------
// Metric names that exist, computed from the code that emits them.

const OTLP_KIND: Readonly<Record<Instrument['kind'], OtlpKind>> = {
  histogram: 'histogram',
  counter: 'monotonic_sum',
  ratio: 'gauge',
};

/** Series names the processor's prometheus exporter serves for the span-derived GenAI metrics (8889). */
export function derivedMetricNames(): string[] {
  return [...ALL_INSTRUMENTS, ...EVAL_INSTRUMENTS].flatMap((inst) => {
    const family = metricFamilyName(inst.name, inst.unit, OTLP_KIND[inst.kind], {
      namespace: '',
      addMetricSuffixes: true,
    });
    if (family === undefined) throw new Error(`${inst.name} has no Prometheus name`);
    return inst.kind === 'histogram' ? ['_bucket', '_sum', '_count'].map((s) => `${family}${s}`) : [family];
  });
}

/** Names on the processor's own /metrics (8888): every SelfTelemetry instrument, touched once. */
export async function processorMetricNames(): Promise<string[]> {
  const t = new SelfTelemetry({ processMetrics: false });
  for (const signal of ['traces', 'metrics', 'logs'] as const) {
    t.receiverAccepted('otlp', 'http', signal, 1);
    t.receiverRefused('otlp', 'http', signal, 1);
    t.exporterSent('e', signal, 1);
    t.exporterSendFailed('e', signal, 1);
    t.exporterEnqueueFailed('e', signal, 1);
    t.queueSize('e', signal, 1);
    t.queueCapacity('e', signal, 1);
    t.processorItems('p', signal, 'incoming', 1);
    t.processorItems('p', signal, 'outgoing', 1);
    t.rejectedRequest('otlp', 'http', signal, 'invalid');
    t.drop('e', signal, 'queue_full', 1);
  }
  t.redactions('p', 'email', 'k', 1);
  t.redactionFailClosed('p', 'too_large', 1);
  t.costSpans('p', 'ok', 1);
  t.costUnknownModel('p', 'openai', 'm', 1);
  t.costRollupEvicted('p', 'ttl', 1);
  t.derivedMetricsFlush('p', 'metrics/genai', 'ok');
  t.derivedMetricsSeries('p', 'llmobs.calls', 1);
  t.cardinalityOverflowPoints('p', 'm', 1);
  t.cardinalitySeries('p', 1);
  t.cardinalityCappedValues('p', 'k', 1);
  t.reloads.inc({ result: 'applied' });
  return (await t.registry.getMetricsAsJSON()).map((m) => m.name);
}

/** Names the operator registers (prom-client `name:` literals of its runtime, and the webhook counter). */
export function operatorMetricNames(): string[] {
  const src = readFileSync(join(repoRoot, 'operator', 'src', 'runtime', 'controller.ts'), 'utf8');
  const names = [...src.matchAll(/name: '(llmobs_[a-z0-9_]+)'/g)].map((m) => m[1] ?? '');
  const histograms = [...names.filter((n) => n.endsWith('_seconds')), ADMISSION_DURATION];
  return [
    ...names.filter((n) => !histograms.includes(n)),
    ...histograms.flatMap((n) => ['_bucket', '_sum', '_count'].map((s) => `${n}${s}`)),
    INJECTIONS_TOTAL,
    KUBE_REQUESTS_TOTAL,
    EVENTS_DROPPED_TOTAL,
    CONNECTIONS_TOTAL,
  ];
}

/** Metrics of other components the alerts use (the kube-apiserver's, scraped by a usual Prometheus setup). */
export const EXTERNAL_METRIC_NAMES: readonly string[] = ['apiserver_admission_webhook_fail_open_count'];

export async function knownMetricNames(): Promise<Set<string>> {
  return new Set([
    ...derivedMetricNames(),
    ...(await processorMetricNames()),
    ...operatorMetricNames(),
    ...EXTERNAL_METRIC_NAMES,
  ]);
}

// ---------------------------------------------------------------------------------------------------------
// PromQL

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'inf',
  'nan',
  'atan2',
]);

/**
 * The metric names a PromQL expression selects: plain names, and the regular expressions of
 * `__name__=~"…"` matchers (returned separately). Label names (in matchers and in by/on/… lists),
 * function names, keywords, strings, numbers and durations are left out.
 */
export function promqlMetricNames(expr: string): { names: string[]; nameRegexes: string[] } {
  const nameRegexes: string[] = [];
  let rest = expr.replace(/__name__\s*=~\s*"((?:[^"\\]|\\.)*)"/g, (_m, re: string) => {
    nameRegexes.push(re);
    return '';
  });
  rest = rest
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const names = [...rest.matchAll(/(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*(?![\w:]|\s*\()/g)]
    .map((m) => m[0])
    .filter((n) => !KEYWORDS.has(n.toLowerCase()));
  return { names: [...new Set(names)], nameRegexes };
}

/** Names in `exprs` that are not in `known`, or `__name__` regexes that match none of them. */
export function unknownMetricNames(exprs: readonly string[], known: ReadonlySet<string>): string[] {
  const unknown = new Set<string>();
  for (const expr of exprs) {
    const { names, nameRegexes } = promqlMetricNames(expr);
    for (const n of names) if (!known.has(n)) unknown.add(n);
    for (const re of nameRegexes) {
      const r = new RegExp(`^(?:${re})$`);
      if (![...known].some((n) => r.test(n))) unknown.add(`__name__=~"${re}"`);
    }
  }
  return [...unknown].sort();
}

// ---------------------------------------------------------------------------------------------------------
// Grafana

export interface Target {
  readonly refId: string;
  readonly expr: string;
  readonly datasource?: { type: string; uid: string };
}
export interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly description?: string;
  readonly datasource?: { type: string; uid: string };
  readonly gridPos: { h: number; w: number; x: number; y: number };
  readonly targets?: Target[];
  readonly panels?: Panel[];
}
export interface TemplateVariable {
  readonly name: string;
  readonly type: string;
  readonly query: string | { query: string };
  readonly allValue?: string;
  readonly datasource?: { type: string; uid: string };
}
export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly panels: Panel[];
  readonly templating: { list: TemplateVariable[] };
}

export function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(dashboardFile, 'utf8')) as Dashboard;
}

/** Every panel, rows' nested panels included. */
export function allPanels(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/**
 * An expression as Prometheus would get it from Grafana: interval variables become durations, every
 * other template variable `.*` (what "All" sends).
 */
export function grafanaToPromql(expr: string): string {
  return expr
    .replace(/\$__range\b/g, '1h')
    .replace(/\$\{?__(rate_interval|interval)\}?/g, '5m')
    .replace(/\$\{?([A-Za-z0-9_]+)\}?/g, '.*');
}

/** The series selector of a `label_values(selector, label)` variable query, and the label. */
export function labelValuesQuery(q: string): { selector: string; label: string } | undefined {
  const m = /^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(q.trim());
  return m?.[1] && m[2] ? { selector: m[1], label: m[2] } : undefined;
}
