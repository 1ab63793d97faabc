import type { LogsRequest, MetricsRequest, RequestBySignal, TracesRequest } from './model.ts';
import type { Signal } from './schema.ts';

function spans(req: TracesRequest): number {
  let n = 0;
  for (const rs of req.resourceSpans) for (const ss of rs.scopeSpans) n += ss.spans.length;
  return n;
}

const POINT_KINDS = ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'] as const;

function points(req: MetricsRequest): number {
  let n = 0;
  for (const rm of req.resourceMetrics) {
    for (const sm of rm.scopeMetrics) {
      for (const metric of sm.metrics as Record<string, { dataPoints?: unknown[] } | undefined>[]) {
        for (const kind of POINT_KINDS) n += metric[kind]?.dataPoints?.length ?? 0;
      }
    }
  }
  return n;
}

function records(req: LogsRequest): number {
  let n = 0;
  for (const rl of req.resourceLogs) for (const sl of rl.scopeLogs) n += sl.logRecords.length;
  return n;
}

/** Items in a request, as the Collector counts them: spans, metric data points, log records. */
export function countItems<S extends Signal>(signal: S, req: RequestBySignal[S]): number {
  if (signal === 'traces') return spans(req as TracesRequest);
  if (signal === 'metrics') return points(req as MetricsRequest);
  return records(req as LogsRequest);
}
