import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Signal } from '../otlp/schema.ts';

/** The Collector's word for each signal's items in its metric names. */
const ITEM: Readonly<Record<Signal, string>> = {
  traces: 'spans',
  metrics: 'metric_points',
  logs: 'log_records',
};

/** Why an item was dropped; every drop is counted under exactly one reason. */
export type DropReason =
  | 'queue_full'
  | 'permanent_error'
  | 'retries_exhausted'
  | 'shutdown'
  | 'invalid'
  | 'processor_error'
  | 'storage_corrupt';

/**
 * The processor's own metrics, served on :8888/metrics. Names follow the Collector's internal
 * telemetry (otelcol_receiver_accepted_spans, otelcol_exporter_sent_spans, ...) so existing
 * dashboards and alerts work; llmobs_* names cover what the Collector has no metric for.
 * One registry per instance, so tests and hot reloads never share counters by accident.
 */
export class SelfTelemetry {
  readonly registry = new Registry();
  readonly #counters = new Map<string, Counter>();
  readonly #gauges = new Map<string, Gauge>();
  readonly dropped: Counter<'component' | 'signal' | 'reason'>;
  readonly reloads: Counter<'result'>;

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: 'otelcol_process_' });
    this.dropped = new Counter({
      name: 'llmobs_dropped_items_total',
      help: 'Items (spans, metric points, log records) dropped, by component and reason. Every drop is counted here.',
      labelNames: ['component', 'signal', 'reason'],
      registers: [this.registry],
    });
    this.reloads = new Counter({
      name: 'llmobs_config_reloads_total',
      help: 'Configuration reloads, by result (applied, rejected).',
      labelNames: ['result'],
      registers: [this.registry],
    });
  }

  #counter(name: string, help: string, labels: readonly string[]): Counter {
    let c = this.#counters.get(name);
    if (!c) {
      c = new Counter({ name, help, labelNames: labels, registers: [this.registry] });
      this.#counters.set(name, c);
    }
    return c;
  }

  #gauge(name: string, help: string, labels: readonly string[]): Gauge {
    let g = this.#gauges.get(name);
    if (!g) {
      g = new Gauge({ name, help, labelNames: labels, registers: [this.registry] });
      this.#gauges.set(name, g);
    }
    return g;
  }

  receiverAccepted(receiver: string, transport: string, signal: Signal, n: number): void {
    this.#counter(
      `otelcol_receiver_accepted_${ITEM[signal]}_total`,
      `Items successfully pushed into the pipeline.`,
      ['receiver', 'transport'],
    ).inc({ receiver, transport }, n);
  }

  receiverRefused(receiver: string, transport: string, signal: Signal, n: number): void {
    this.#counter(
      `otelcol_receiver_refused_${ITEM[signal]}_total`,
      `Items that could not be pushed into the pipeline.`,
      ['receiver', 'transport'],
    ).inc({ receiver, transport }, n);
  }

  exporterSent(exporter: string, signal: Signal, n: number): void {
    this.#counter(
      `otelcol_exporter_sent_${ITEM[signal]}_total`,
      'Items successfully sent to the destination.',
      ['exporter'],
    ).inc({ exporter }, n);
  }

  exporterSendFailed(exporter: string, signal: Signal, n: number): void {
    this.#counter(`otelcol_exporter_send_failed_${ITEM[signal]}_total`, 'Items that failed to be sent.', [
      'exporter',
    ]).inc({ exporter }, n);
  }

  exporterEnqueueFailed(exporter: string, signal: Signal, n: number): void {
    this.#counter(
      `otelcol_exporter_enqueue_failed_${ITEM[signal]}_total`,
      'Items that could not be added to the sending queue.',
      ['exporter'],
    ).inc({ exporter }, n);
  }

  queueSize(exporter: string, signal: Signal, bytes: number): void {
    this.#gauge('otelcol_exporter_queue_size', 'Current size of the sending queue, in bytes.', [
      'exporter',
      'data_type',
    ]).set({ exporter, data_type: signal }, bytes);
  }

  queueCapacity(exporter: string, signal: Signal, bytes: number): void {
    this.#gauge('otelcol_exporter_queue_capacity', 'Capacity of the sending queue, in bytes.', [
      'exporter',
      'data_type',
    ]).set({ exporter, data_type: signal }, bytes);
  }

  processorItems(processor: string, signal: Signal, direction: 'incoming' | 'outgoing', n: number): void {
    this.#counter(
      `otelcol_processor_${direction}_items_total`,
      `Items ${direction === 'incoming' ? 'entering' : 'leaving'} a processor.`,
      ['processor', 'otel_signal'],
    ).inc({ processor, otel_signal: signal }, n);
  }

  /** A request refused before its items could be counted (undecodable, oversize, wrong media type). */
  rejectedRequest(receiver: string, transport: string, signal: Signal, reason: string): void {
    this.#counter('llmobs_receiver_rejected_requests_total', 'Requests refused before decoding, by reason.', [
      'receiver',
      'transport',
      'signal',
      'reason',
    ]).inc({ receiver, transport, signal, reason });
  }

  /** Values redacted by an llm_redaction processor, by entity and (bounded) attribute key. */
  redactions(processor: string, entity: string, key: string, n: number): void {
    this.#counter(
      'llmobs_redactions_total',
      'Values redacted, by processor, entity and attribute key (other for unlisted keys).',
      ['processor', 'entity', 'key'],
    ).inc({ processor, entity, key }, n);
  }

  /** Values replaced whole because they could not be scanned (too_large, too_deep, error). */
  redactionFailClosed(processor: string, reason: string, n: number): void {
    this.#counter(
      'llmobs_redaction_failclosed_total',
      'Values replaced whole without scanning (fail closed), by processor and reason.',
      ['processor', 'reason'],
    ).inc({ processor, reason }, n);
  }

  /** Spans an llm_cost processor looked at, by outcome (ok, partial, unknown_model, no_usage, reported). */
  costSpans(processor: string, status: string, n: number): void {
    this.#counter('llmobs_cost_spans_total', 'LLM spans seen by a cost processor, by cost status.', [
      'processor',
      'status',
    ]).inc({ processor, status }, n);
  }

  /** LLM spans left without a cost because no price matched their model (the label is bounded by the caller). */
  costUnknownModel(processor: string, provider: string, model: string, n: number): void {
    this.#counter(
      'llmobs_cost_unknown_model_total',
      'LLM spans whose model has no price (cost left unset, never 0), by provider and model.',
      ['processor', 'provider', 'model'],
    ).inc({ processor, provider, model }, n);
  }

  /** Trace roll-up entries evicted before their root span arrived (the root then lacks their cost). */
  costRollupEvicted(processor: string, reason: 'ttl' | 'capacity', n: number): void {
    this.#counter(
      'llmobs_cost_rollup_evicted_traces_total',
      'Traces whose cost roll-up was evicted before the root span arrived, by reason.',
      ['processor', 'reason'],
    ).inc({ processor, reason }, n);
  }

  /** Derived-metrics flushes into a pipeline, by result (ok, refused, missing). */
  derivedMetricsFlush(processor: string, pipeline: string, result: string): void {
    this.#counter(
      'llmobs_derived_metrics_flushes_total',
      'Flushes of span-derived metrics into a metrics pipeline, by result.',
      ['processor', 'pipeline', 'result'],
    ).inc({ processor, pipeline, result });
  }

  /** Series an llm_metrics processor holds now, by metric. */
  derivedMetricsSeries(processor: string, metric: string, n: number): void {
    this.#gauge(
      'llmobs_derived_metrics_series',
      'Series held by a span-derived metrics processor, by metric.',
      ['processor', 'metric'],
    ).set({ processor, metric }, n);
  }

  /** Judge calls of an llm_evaluation processor, by rubric and result (pass, fail, unparseable, error_*). */
  evalJudgments(processor: string, rubric: string, result: string, n: number): void {
    this.#counter('llmobs_eval_judgments_total', 'Judge calls, by rubric and result.', [
      'processor',
      'rubric',
      'result',
    ]).inc({ processor, rubric, result }, n);
  }

  /** Judgments not made, by reason (queue_full, budget_rate, budget_cost, no_content, no_documents). */
  evalSkipped(processor: string, reason: string, n: number): void {
    this.#counter('llmobs_eval_skipped_total', 'Judgments selected but not made, by reason.', [
      'processor',
      'reason',
    ]).inc({ processor, reason }, n);
  }

  evalJudgeCost(processor: string, usd: number): void {
    if (usd > 0)
      this.#counter('llmobs_eval_judge_cost_usd_total', 'What judge calls cost, in USD.', ['processor']).inc(
        { processor },
        usd,
      );
  }

  evalQueue(processor: string, n: number): void {
    this.#gauge('llmobs_eval_queue_size', 'Judge calls waiting for a worker.', ['processor']).set(
      { processor },
      n,
    );
  }

  drop(component: string, signal: Signal, reason: DropReason, n: number): void {
    if (n > 0) this.dropped.inc({ component, signal, reason }, n);
  }

  /** Data points a cardinality limit folded into the `otel.metric.overflow` series, by (bounded) metric name. */
  cardinalityOverflowPoints(processor: string, metric: string, n: number): void {
    this.#counter(
      'llmobs_cardinality_overflow_points_total',
      'Data points folded into the otel.metric.overflow series, by processor and metric (__other__ beyond the tracked names).',
      ['processor', 'metric'],
    ).inc({ processor, metric }, n);
  }

  /** Attribute sets a cardinality limit tracks now, across metrics. */
  cardinalitySeries(processor: string, n: number): void {
    this.#gauge('llmobs_cardinality_series', 'Attribute sets tracked by a cardinality limit, by processor.', [
      'processor',
    ]).set({ processor }, n);
  }

  /** Attribute values replaced by `__other__` by a value cap, by (configured) attribute key. */
  cardinalityCappedValues(processor: string, key: string, n: number): void {
    this.#counter(
      'llmobs_cardinality_capped_values_total',
      'Attribute values replaced by __other__ by a per-key value cap, by processor and key.',
      ['processor', 'key'],
    ).inc({ processor, key }, n);
  }

  /** Metric points a cardinality limit could neither keep nor merge (summaries, mismatched histogram bounds). */
  cardinalityDropped(processor: string, reason: 'cardinality_overflow' | 'unmergeable', n: number): void {
    if (n > 0) this.dropped.inc({ component: processor, signal: 'metrics', reason }, n);
  }

  /** Traces an llm_sampling processor decided, by decision (keep, drop) and the policy that gave it. */
  samplingTraces(processor: string, decision: 'keep' | 'drop', reason: string, n: number): void {
    this.#counter(
      'llmobs_sampling_traces_total',
      'Traces decided by a sampling processor, by decision and reason (the first policy that matched, else probabilistic). Sampled-out traces are not drops.',
      ['processor', 'decision', 'reason'],
    ).inc({ processor, decision, reason }, n);
  }

  /** Spans that followed a sampling decision (late spans included), by decision and reason. */
  samplingSpans(processor: string, decision: 'keep' | 'drop', reason: string, n: number): void {
    this.#counter(
      'llmobs_sampling_spans_total',
      'Spans that followed a sampling decision, by decision and reason.',
      ['processor', 'decision', 'reason'],
    ).inc({ processor, decision, reason }, n);
  }

  /** Traces a sampling processor holds undecided, and the estimated bytes it holds (buffer and outbox). */
  samplingBuffered(processor: string, traces: number, bytes: number): void {
    this.#gauge(
      'llmobs_sampling_buffered_traces',
      'Traces held by a sampling processor awaiting a decision.',
      ['processor'],
    ).set({ processor }, traces);
    this.#gauge(
      'llmobs_sampling_buffered_bytes',
      'Estimated OTLP bytes held by a sampling processor: undecided traces plus kept spans awaiting forwarding.',
      ['processor'],
    ).set({ processor }, bytes);
  }

  /** Traces decided before their time because the buffer was full (capacity: max_traces, memory: max_buffered_bytes). */
  samplingEvicted(processor: string, reason: 'capacity' | 'memory', n: number): void {
    this.#counter(
      'llmobs_sampling_evicted_traces_total',
      'Traces a sampling processor decided early, on the spans it had, because its buffer was full; by reason.',
      ['processor', 'reason'],
    ).inc({ processor, reason }, n);
  }

  /** Spans that arrived after their trace was decided: they followed it (keep, drop) or it was forgotten. */
  samplingLateSpans(processor: string, decision: 'keep' | 'drop' | 'forgotten', n: number): void {
    this.#counter(
      'llmobs_sampling_late_spans_total',
      'Spans arriving after their trace was decided, by what happened: followed the cached decision (keep, drop), or the decision was forgotten (decided again alone).',
      ['processor', 'decision'],
    ).inc({ processor, decision }, n);
  }

  /** Forwarding attempts of kept traces that the next consumer refused (and will be retried). */
  samplingForwardRetries(processor: string, n: number): void {
    this.#counter(
      'llmobs_sampling_forward_retries_total',
      'Batches of kept traces the next consumer refused with back-pressure; they are retried, not dropped.',
      ['processor'],
    ).inc({ processor }, n);
  }
}
