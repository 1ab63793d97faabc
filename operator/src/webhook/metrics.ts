import { Counter, type Registry } from 'prom-client';

export const INJECTIONS_TOTAL = 'llmobs_webhook_injections_total';

export interface WebhookMetrics {
  /** One per admitted pod that is not a dry-run, by outcome (injected/skipped/error/ignored) and reason code. */
  readonly injections: Counter<'outcome' | 'reason'>;
}

export function webhookMetrics(registry: Registry): WebhookMetrics {
  const existing = registry.getSingleMetric(INJECTIONS_TOTAL);
  return {
    injections:
      (existing as Counter<'outcome' | 'reason'> | undefined) ??
      new Counter({
        name: INJECTIONS_TOTAL,
        help: 'Pod admissions by the llmobs injection webhook, by outcome and reason code (dry-runs are not counted).',
        labelNames: ['outcome', 'reason'],
        registers: [registry],
      }),
  };
}
