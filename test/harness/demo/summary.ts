// What `make demo` prints at the end: read back from the real components, not from what the demo sent.
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api } from '@kubernetes/client-node';
import { ANNOTATION } from '../../../operator/src/api/v1alpha1/constants.ts';
import { POD_ANNOTATION } from '../../../operator/src/webhook/podmutation/constants.ts';
import type { ControlPlane } from '../control-plane.ts';
import type { AttrValue, Jaeger, JaegerSpan } from '../jaeger.ts';
import { parseExposition } from '../prometheus.ts';
import { NAMESPACE, RESOURCE, resourceStatus, SAMPLE_APPS, SENT_PII } from './apps.ts';

export interface PodLine {
  readonly name: string;
  readonly runtime: string;
  readonly injection: string;
  readonly phase: string;
  readonly node: string;
}

export interface CostLine {
  readonly model: string;
  /** Priced spans of the model in Jaeger, and the sum of their gen_ai.usage.cost.amount. */
  readonly calls: number;
  readonly amount: number;
  readonly currency: string;
  /** llmobs_cost_total of the model on the gateway's GenAI metrics endpoint (derived from the same spans). */
  readonly metric: number | undefined;
}

export interface Summary {
  readonly pods: readonly PodLine[];
  /** LLMObservability status.instrumentedPods. */
  readonly instrumentedPods: number;
  readonly selectedPods: number;
  readonly spans: readonly {
    readonly service: string;
    readonly byOperation: Readonly<Record<string, number>>;
  }[];
  /** llmobs_redactions_total summed by entity. */
  readonly redactions: Readonly<Record<string, number>>;
  readonly cost: readonly CostLine[];
  /** Spans searched for the raw personal data the prompts carried, and what of it was found. */
  readonly piiCheck: { readonly spans: number; readonly sent: number; readonly found: readonly string[] };
  /** One captured prompt as Jaeger stored it. */
  readonly samplePrompt: string | undefined;
}

/** Every form a sent value could be stored in: as written, and digits without their spaces. */
function rawForms(): string[] {
  const all: string[] = [...SENT_PII.email, ...SENT_PII.credit_card];
  return [...new Set([...all, ...SENT_PII.credit_card.map((c) => c.replace(/\s+/g, ''))])];
}

function attrText(v: AttrValue | undefined): string {
  return typeof v === 'string'
    ? v
    : JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? String(x) : x));
}

/** Everything Jaeger stored for a span, as text: name, attributes, resource and events. */
export function spanText(s: JaegerSpan): string {
  return [
    s.name,
    attrText(s.attributes),
    attrText(s.resource),
    attrText(s.events as unknown as AttrValue),
  ].join('\n');
}

async function scrape(url: string) {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return parseExposition(await res.text());
}

/** llmobs_cost_total summed by gen_ai_request_model. */
async function costMetric(url: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const s of await scrape(url)) {
    if (s.name !== 'llmobs_cost_total') continue;
    const model = s.labels.gen_ai_request_model ?? '?';
    out.set(model, (out.get(model) ?? 0) + s.value);
  }
  return out;
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 + 1e-6 * Math.abs(b);

export async function collectSummary(opts: {
  readonly cp: ControlPlane;
  readonly jaeger: Jaeger;
  readonly processorMetricsUrl: string;
  readonly genaiMetricsUrl: string | undefined;
}): Promise<Summary> {
  const { cp, jaeger } = opts;
  const core = cp.kubeConfig().makeApiClient(CoreV1Api);
  const list = await core.listNamespacedPod({
    namespace: NAMESPACE,
    labelSelector: 'app.kubernetes.io/part-of=llm-demo',
  });
  const pods: PodLine[] = list.items.map((p) => {
    const a = p.metadata?.annotations ?? {};
    const runtime = /(?:^|,)\s*app=([a-z]+)/.exec(a[POD_ANNOTATION.containerLanguages] ?? '')?.[1] ?? '?';
    return {
      name: p.metadata?.name ?? '?',
      runtime,
      injection: a[ANNOTATION.injectionStatus] ?? 'none',
      phase: p.status?.phase ?? '?',
      node: p.spec?.nodeName ?? '-',
    };
  });
  const status = await resourceStatus(cp);

  const all: JaegerSpan[] = [];
  const spans = [];
  for (const app of SAMPLE_APPS) {
    const found = await jaeger.traces(app.name);
    all.push(...found);
    const byOperation: Record<string, number> = {};
    for (const s of found) {
      const op = String(s.attributes['gen_ai.operation.name'] ?? s.name);
      byOperation[op] = (byOperation[op] ?? 0) + 1;
    }
    spans.push({ service: app.name, byOperation });
  }

  const redactions: Record<string, number> = {};
  for (const s of await scrape(opts.processorMetricsUrl)) {
    if (s.name !== 'llmobs_redactions_total') continue;
    const entity = s.labels.entity ?? '?';
    redactions[entity] = (redactions[entity] ?? 0) + s.value;
  }

  const costs = new Map<string, { calls: number; amount: number; currency: string }>();
  for (const s of all) {
    const amount = s.attributes['gen_ai.usage.cost.amount'];
    if (typeof amount !== 'number') continue;
    const a = s.attributes;
    const model = String(
      a['gen_ai.usage.cost.model'] ?? a['gen_ai.response.model'] ?? a['gen_ai.request.model'],
    );
    const c = costs.get(model) ?? {
      calls: 0,
      amount: 0,
      currency: String(a['gen_ai.usage.cost.currency'] ?? ''),
    };
    c.calls++;
    c.amount += amount;
    costs.set(model, c);
  }
  // llm_metrics flushes on a timer: give the last spans' costs a moment to reach the endpoint.
  let metric = new Map<string, number>();
  const { genaiMetricsUrl } = opts;
  if (genaiMetricsUrl) {
    const agrees = () => [...costs].every(([m, c]) => close(metric.get(m) ?? 0, c.amount));
    for (const deadline = Date.now() + 5_000; ; await sleep(250)) {
      metric = await costMetric(genaiMetricsUrl).catch(() => new Map<string, number>());
      if (agrees() || Date.now() > deadline) break;
    }
  }
  const cost = [...costs]
    .map(([model, c]) => ({ model, ...c, metric: metric.get(model) }))
    .sort((x, y) => y.amount - x.amount);

  const forms = rawForms();
  const texts = all.map(spanText);
  const found = forms.filter((f) => texts.some((t) => t.includes(f)));
  const sample = all
    .map((s) => s.attributes['gen_ai.input.messages'])
    .find((v): v is string => typeof v === 'string' && /<EMAIL>|<CREDIT_CARD>/.test(v));

  return {
    pods,
    instrumentedPods: status?.instrumentedPods ?? 0,
    selectedPods: pods.length,
    spans,
    redactions,
    cost,
    piiCheck: { spans: all.length, sent: SENT_PII.email.length + SENT_PII.credit_card.length, found },
    samplePrompt: sample,
  };
}

/** The user's words in a gen_ai.input.messages value (the last text part), or the value itself. */
function lastUserText(messages: string): string {
  try {
    const parsed = JSON.parse(messages) as { role?: string; parts?: { content?: unknown }[] }[];
    const user = parsed.filter((m) => m.role === 'user').pop();
    const content = user?.parts?.map((p) => p.content).find((c) => typeof c === 'string');
    if (typeof content === 'string') return content;
  } catch {
    // not the JSON shape this expects; show it as stored
  }
  return messages;
}

function money(amount: number): string {
  return amount.toFixed(8).replace(/0+$/, '').replace(/\.$/, '.0');
}

export interface WhereToLook {
  readonly jaegerUrl: string;
  readonly processorMetricsUrl: string;
  readonly genaiMetricsUrl: string | undefined;
  readonly operatorMetricsUrl: string;
  readonly kubeconfig: string;
}

/** The summary as printed: one labelled block per fact, then where to look. */
export function formatSummary(s: Summary, where: WhereToLook): string[] {
  const label = (l: string) => `  ${l.padEnd(20)}`;
  const cont = label('');
  const out: string[] = ['summary'];
  out.push(
    `${label('pods instrumented')}${s.instrumentedPods} of ${s.selectedPods} selected ` +
      `(LLMObservability ${NAMESPACE}/${RESOURCE} status.instrumentedPods=${s.instrumentedPods})`,
  );
  const w = Math.max(...s.pods.map((p) => p.name.length));
  for (const p of s.pods) {
    out.push(`${cont}${p.name.padEnd(w)}  ${p.runtime.padEnd(6)}  ${p.injection}  ${p.phase} on ${p.node}`);
  }
  s.spans.forEach((x, i) => {
    const total = Object.values(x.byOperation).reduce((a, b) => a + b, 0);
    const ops = Object.entries(x.byOperation)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([op, n]) => `${op} ${n}`)
      .join(', ');
    out.push(
      `${i === 0 ? label('spans in Jaeger') : cont}${x.service.padEnd(10)} ${total} (${ops || 'none'})`,
    );
  });
  const redacted = Object.entries(s.redactions)
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([e, n]) => `${e} ${n}`)
    .join(', ');
  out.push(`${label('PII redacted')}${redacted || 'none'}  (llmobs_redactions_total by entity)`);
  out.push(
    `${cont}raw PII in Jaeger: ${s.piiCheck.found.length === 0 ? 'none' : s.piiCheck.found.join(', ')} ` +
      `(${s.piiCheck.sent} emails and card numbers sent, ${s.piiCheck.spans} spans searched)`,
  );
  if (s.samplePrompt !== undefined) {
    const text = lastUserText(s.samplePrompt).replace(/\s+/g, ' ');
    out.push(`${cont}a prompt as stored: ${text.length > 110 ? `${text.slice(0, 107)}...` : text}`);
  }
  const mw = Math.max(0, ...s.cost.map((c) => c.model.length));
  if (s.cost.length === 0) out.push(`${label('cost by model')}none`);
  s.cost.forEach((c, i) => {
    const metric = c.metric === undefined ? 'not derived' : `llmobs_cost_total ${money(c.metric)}`;
    out.push(
      `${i === 0 ? label('cost by model') : cont}${c.model.padEnd(mw)}  ${String(c.calls).padStart(2)} ` +
        `call${c.calls === 1 ? ' ' : 's'}  ${money(c.amount)} ${c.currency}  (${metric})`,
    );
  });
  // The harness builds Jaeger without its UI assets (its / is a placeholder page): the UI's JSON API is there.
  SAMPLE_APPS.forEach((a, i) => {
    const name = i === 0 ? 'Jaeger (JSON API)' : '';
    out.push(
      `${i === 0 ? label('where to look') : cont}${name.padEnd(19)}${where.jaegerUrl}/api/traces?service=${a.name}`,
    );
  });
  out.push(`${cont}processor metrics  ${where.processorMetricsUrl}  (llmobs_redactions_total, ...)`);
  if (where.genaiMetricsUrl)
    out.push(
      `${cont}GenAI metrics      ${where.genaiMetricsUrl}  (llmobs_cost_total, gen_ai_client_token_usage, ...)`,
    );
  out.push(`${cont}operator metrics   ${where.operatorMetricsUrl}`);
  out.push(
    `${cont}kubectl            KUBECONFIG=${where.kubeconfig} kubectl -n ${NAMESPACE} get pods,llmobs`,
  );
  return out;
}
