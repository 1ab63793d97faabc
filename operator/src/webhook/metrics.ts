import { Counter, Histogram, type Registry } from 'prom-client';

export const INJECTIONS_TOTAL = 'llmobs_webhook_injections_total';
export const ADMISSION_DURATION = 'llmobs_webhook_admission_duration_seconds';
export const CONNECTIONS_TOTAL = 'llmobs_webhook_connections_total';

export interface WebhookMetrics {
  /** One per admitted pod that is not a dry-run, by outcome (injected/skipped/error/ignored) and reason code. */
  readonly injections: Counter<'outcome' | 'reason'>;
  /** From the request's arrival (before its body is read) to the answer, dry-runs included. */
  readonly duration: Histogram<'outcome'>;
  /**
   * TLS connections accepted, by the protocol ALPN settled on (`h2`, `http/1.1`): each is a full handshake, so
   * its rate against the admissions' shows a client reconnecting instead of reusing connections.
   */
  readonly connections: Counter<'protocol'>;
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
    connections:
      (registry.getSingleMetric(CONNECTIONS_TOTAL) as Counter<'protocol'> | undefined) ??
      new Counter({
        name: CONNECTIONS_TOTAL,
        help: 'TLS connections accepted by the webhook server, by the application protocol negotiated (h2, http/1.1).',
        labelNames: ['protocol'],
        registers: [registry],
      }),
  };
}
