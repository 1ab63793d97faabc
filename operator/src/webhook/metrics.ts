import { Counter, Histogram, type Registry } from 'prom-client';

export const INJECTIONS_TOTAL = 'llmobs_webhook_injections_total';
export const ADMISSION_DURATION = 'llmobs_webhook_admission_duration_seconds';

export interface WebhookMetrics {
  /** One per admitted pod that is not a dry-run, by outcome (injected/skipped/error/ignored) and reason code. */
  readonly injections: Counter<'outcome' | 'reason'>;
  /** From the request's arrival (before its body is read) to the answer, dry-runs included. */
  readonly duration: Histogram<'outcome'>;
}

export function webhookMetrics(registry: Registry): WebhookMetrics {
  return {
    injections:
      (registry.getSingleMetric(INJECTIONS_TOTAL) as Counter<'outcome' | 'reason'> | undefined) ??
      new Counter({
        name: INJECTIONS_TOTAL,
        help: 'Pod admissions by the llmobs injection webhook, by outcome and reason code (dry-runs are not counted).',
        labelNames: ['outcome', 'reason'],
        registers: [registry],
      }),
    duration:
      (registry.getSingleMetric(ADMISSION_DURATION) as Histogram<'outcome'> | undefined) ??
      new Histogram({
        name: ADMISSION_DURATION,
        help: 'Time the pod webhook took per admission, from the request arriving to the answer being written, by outcome.',
        labelNames: ['outcome'],
        // The apiserver's own webhook histogram starts at 5 ms; ours needs finer steps below it.
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        registers: [registry],
      }),
  };
}
