import { BadRequestError } from './errors.ts';
import type { LogsRequest, MetricsRequest, RequestBySignal, TracesRequest } from './model.ts';
import type { Signal } from './schema.ts';

type Ids = { traceId?: Uint8Array | null; spanId?: Uint8Array | null; parentSpanId?: Uint8Array | null };

const WANT = { traceId: 16, spanId: 8, parentSpanId: 8 } as const;

/** Empty (absent) or exactly 16 / 8 bytes, as the Collector's decoder insists (`invalid TraceID length`). */
function check(ids: Ids): void {
  for (const field of ['traceId', 'spanId', 'parentSpanId'] as const) {
    const n = ids[field]?.length ?? 0;
    if (n !== 0 && n !== WANT[field])
      throw new BadRequestError(`${field} is ${n} bytes, must be ${WANT[field]} (or empty)`);
  }
}

function traces(req: TracesRequest): void {
  for (const rs of req.resourceSpans)
    for (const ss of rs.scopeSpans)
      for (const span of ss.spans) {
        check(span);
        for (const link of span.links) check(link);
      }
}

const POINT_KINDS = ['gauge', 'sum', 'histogram', 'exponentialHistogram'] as const;

function metrics(req: MetricsRequest): void {
  for (const rm of req.resourceMetrics)
    for (const sm of rm.scopeMetrics)
      for (const metric of sm.metrics)
        for (const kind of POINT_KINDS)
          for (const point of metric[kind]?.dataPoints ?? []) for (const ex of point.exemplars) check(ex);
}

function logs(req: LogsRequest): void {
  for (const rl of req.resourceLogs)
    for (const sl of rl.scopeLogs) for (const r of sl.logRecords) check(r as Ids);
}

/**
 * Protobuf carries ids as bytes of any length; a 3-byte trace id is malformed, and the Collector answers
 * it with 400. (OTLP/JSON ids are checked as they are read from hex.)
 */
export function checkIdLengths<S extends Signal>(signal: S, req: RequestBySignal[S]): void {
  if (signal === 'traces') traces(req as TracesRequest);
  else if (signal === 'metrics') metrics(req as MetricsRequest);
  else logs(req as LogsRequest);
}
