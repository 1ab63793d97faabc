import { randomBytes } from 'node:crypto';
import type { AnyValue, KeyValue, Span, TracesRequest } from '../../otlp/model.ts';

/**
 * User feedback on an answer, as the HTTP endpoint takes it (JSON, one object or an array):
 * `{"trace_id": "<32 hex>", "span_id": "<16 hex>"?, "value": "thumbs_up" | "thumbs_down",
 *   "score": -1…1?, "comment": "…"?, "service": "chat"?, "user_id": "…"?}`.
 */
export interface Feedback {
  readonly traceId: string;
  readonly spanId?: string;
  readonly value: 'thumbs_up' | 'thumbs_down';
  readonly score: number;
  readonly comment?: string;
  readonly service?: string;
  readonly userId?: string;
  readonly timeMs: number;
}

/** The attributes feedback carries, on the span this receiver makes or on any span an app sends itself. */
export const FEEDBACK = {
  value: 'llmobs.feedback.value',
  score: 'llmobs.feedback.score',
  comment: 'llmobs.feedback.comment',
} as const;

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const MAX_COMMENT = 4096;

/** Checks one feedback object; returns it, or the problem with the field named. */
export function parseFeedback(raw: unknown, at: string, now: number): Feedback | string {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return `${at}: must be a JSON object`;
  const o = raw as Record<string, unknown>;
  const traceId = typeof o.trace_id === 'string' ? o.trace_id.toLowerCase() : undefined;
  if (!traceId || !HEX32.test(traceId) || /^0+$/.test(traceId))
    return `${at}.trace_id: must be 32 hex digits, not all zero`;
  const spanId = typeof o.span_id === 'string' ? o.span_id.toLowerCase() : undefined;
  if (o.span_id !== undefined && (!spanId || !HEX16.test(spanId) || /^0+$/.test(spanId)))
    return `${at}.span_id: must be 16 hex digits, not all zero`;
  let score = typeof o.score === 'number' ? o.score : undefined;
  if (o.score !== undefined && (score === undefined || !Number.isFinite(score) || score < -1 || score > 1))
    return `${at}.score: must be a number from -1 to 1`;
  let value = o.value;
  if (value === undefined && score !== undefined) value = score < 0 ? 'thumbs_down' : 'thumbs_up';
  if (value !== 'thumbs_up' && value !== 'thumbs_down')
    return `${at}.value: must be "thumbs_up" or "thumbs_down" (or give a score)`;
  score ??= value === 'thumbs_up' ? 1 : -1;
  for (const k of ['comment', 'service', 'user_id'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'string') return `${at}.${k}: must be a string`;
  }
  const comment = o.comment as string | undefined;
  return {
    traceId,
    ...(spanId ? { spanId } : {}),
    value,
    score,
    ...(comment ? { comment: comment.slice(0, MAX_COMMENT) } : {}),
    ...(typeof o.service === 'string' ? { service: o.service } : {}),
    ...(typeof o.user_id === 'string' ? { userId: o.user_id } : {}),
    timeMs: now,
  };
}

const str = (v: string): AnyValue => ({ stringValue: v });

/**
 * Feedback as a span in the answer's trace (a child of the answered span when given), carrying the
 * feedback attributes and the OTel GenAI `gen_ai.evaluation.result` event (name `user_feedback`), so
 * tail sampling keeps the trace and the evaluation metrics count it like a judge's verdict.
 */
export function feedbackSpans(items: readonly Feedback[]): TracesRequest {
  const byService = new Map<string, Span[]>();
  for (const f of items) {
    const result: KeyValue[] = [
      { key: 'gen_ai.evaluation.name', value: str('user_feedback') },
      { key: 'gen_ai.evaluation.score.value', value: { doubleValue: f.score } },
      { key: 'gen_ai.evaluation.score.label', value: str(f.value) },
      ...(f.comment ? [{ key: 'gen_ai.evaluation.explanation', value: str(f.comment) }] : []),
    ];
    const attributes: KeyValue[] = [
      { key: FEEDBACK.value, value: str(f.value) },
      { key: FEEDBACK.score, value: { doubleValue: f.score } },
      ...(f.comment ? [{ key: FEEDBACK.comment, value: str(f.comment) }] : []),
      ...(f.userId ? [{ key: 'user.id', value: str(f.userId) }] : []),
    ];
    const ns = f.timeMs * 1e6;
    const span: Span = {
      traceId: Uint8Array.from(Buffer.from(f.traceId, 'hex')),
      spanId: Uint8Array.from(randomBytes(8)),
      ...(f.spanId ? { parentSpanId: Uint8Array.from(Buffer.from(f.spanId, 'hex')) } : {}),
      name: 'feedback',
      kind: 1,
      startTimeUnixNano: ns,
      endTimeUnixNano: ns,
      attributes,
      events: [{ name: 'gen_ai.evaluation.result', timeUnixNano: ns, attributes: result }],
      links: [],
    };
    const service = f.service ?? 'llmobs-feedback';
    byService.set(service, [...(byService.get(service) ?? []), span]);
  }
  return {
    resourceSpans: [...byService].map(([service, spans]) => ({
      resource: { attributes: [{ key: 'service.name', value: str(service) }] },
      scopeSpans: [
        { scope: { name: 'llmobs.dev/receiver/llm_feedback', version: '0.1.0', attributes: [] }, spans },
      ],
    })),
  };
}
