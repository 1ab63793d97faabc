import type { AnyValue, KeyValue, Span } from '../otlp/model.ts';
import { stringOf } from './values.ts';

/** What a model call was asked and answered, as plain text, whatever the instrumentation's dialect. */
export interface Exchange {
  readonly input: string;
  readonly output: string;
}

/** OTel GenAI structured messages (`[{role, parts:[{type, content}]}]`) or OpenAI-style (`[{role, content}]`) as lines. */
function renderMessages(raw: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return raw;
  }
  const list = Array.isArray(parsed) ? parsed : [parsed];
  const lines: string[] = [];
  for (const m of list) {
    if (typeof m === 'string') {
      lines.push(m);
      continue;
    }
    if (m === null || typeof m !== 'object') continue;
    const msg = m as { role?: unknown; content?: unknown; parts?: unknown };
    const role = typeof msg.role === 'string' ? `${msg.role}: ` : '';
    const texts: string[] = [];
    if (typeof msg.content === 'string') texts.push(msg.content);
    for (const p of Array.isArray(msg.parts) ? msg.parts : Array.isArray(msg.content) ? msg.content : []) {
      if (p && typeof p === 'object') {
        const part = p as { content?: unknown; text?: unknown; result?: unknown; arguments?: unknown };
        for (const v of [part.content, part.text, part.result]) if (typeof v === 'string') texts.push(v);
      }
    }
    if (texts.length > 0) lines.push(`${role}${texts.join('\n')}`);
  }
  return lines.length > 0 ? lines.join('\n') : raw;
}

function text(v: AnyValue | null | undefined): string | undefined {
  const s = stringOf(v);
  if (s !== undefined) return s;
  if (v?.arrayValue) {
    const parts = v.arrayValue.values.map((x) => stringOf(x)).filter((x): x is string => x !== undefined);
    return parts.length > 0 ? parts.join('\n') : undefined;
  }
  return undefined;
}

/**
 * Indexed messages (`gen_ai.prompt.0.role` / `.content`, `llm.input_messages.0.message.role` /
 * `.message.content`) in index order.
 */
function indexed(
  attrs: readonly KeyValue[],
  prefix: string,
  roleKey: string,
  contentKeys: readonly RegExp[],
): string | undefined {
  const byIndex = new Map<number, { role?: string; texts: string[] }>();
  for (const kv of attrs) {
    if (!kv.key.startsWith(prefix)) continue;
    const rest = kv.key.slice(prefix.length);
    const dot = rest.indexOf('.');
    const idx = Number(rest.slice(0, dot));
    if (dot < 0 || !Number.isInteger(idx)) continue;
    const field = rest.slice(dot + 1);
    const entry = byIndex.get(idx) ?? { texts: [] };
    byIndex.set(idx, entry);
    const s = text(kv.value);
    if (s === undefined) continue;
    if (field === roleKey) entry.role = s;
    else if (contentKeys.some((re) => re.test(field))) entry.texts.push(s);
  }
  const lines = [...byIndex.entries()]
    .sort(([a], [b]) => a - b)
    .filter(([, e]) => e.texts.length > 0)
    .map(([, e]) => `${e.role ? `${e.role}: ` : ''}${e.texts.join('\n')}`);
  return lines.length > 0 ? lines.join('\n') : undefined;
}

function attr(attrs: readonly KeyValue[], key: string): string | undefined {
  for (const kv of attrs) if (kv.key === key) return text(kv.value);
  return undefined;
}

const STRUCTURED_IN = ['gen_ai.input.messages', 'ai.prompt.messages'];
const STRUCTURED_OUT = ['gen_ai.output.messages'];
const PLAIN_IN = ['input.value', 'traceloop.entity.input', 'ai.prompt', 'gen_ai.prompt'];
const PLAIN_OUT = ['output.value', 'traceloop.entity.output', 'ai.response.text', 'gen_ai.completion'];

function side(attrs: readonly KeyValue[], dir: 'in' | 'out'): string | undefined {
  const structured = dir === 'in' ? STRUCTURED_IN : STRUCTURED_OUT;
  for (const k of structured) {
    const v = attr(attrs, k);
    if (v !== undefined) {
      const system = dir === 'in' ? attr(attrs, 'gen_ai.system_instructions') : undefined;
      return [system ? `system: ${renderMessages(system)}` : undefined, renderMessages(v)]
        .filter(Boolean)
        .join('\n');
    }
  }
  const fromIndexed =
    dir === 'in'
      ? (indexed(attrs, 'gen_ai.prompt.', 'role', [/^content$/]) ??
        indexed(attrs, 'llm.input_messages.', 'message.role', [
          /^message\.content$/,
          /^message\.contents\.\d+\.message_content\.text$/,
        ]))
      : (indexed(attrs, 'gen_ai.completion.', 'role', [/^content$/]) ??
        indexed(attrs, 'llm.output_messages.', 'message.role', [
          /^message\.content$/,
          /^message\.contents\.\d+\.message_content\.text$/,
        ]));
  if (fromIndexed !== undefined) return fromIndexed;
  for (const k of dir === 'in' ? PLAIN_IN : PLAIN_OUT) {
    const v = attr(attrs, k);
    if (v !== undefined) return renderMessages(v);
  }
  return undefined;
}

/** Span events that carry content: the current details event, and the deprecated per-message ones. */
function fromEvents(span: Span, dir: 'in' | 'out'): string | undefined {
  const lines: string[] = [];
  for (const e of span.events) {
    if (e.name === 'gen_ai.client.inference.operation.details') {
      const v = side(e.attributes, dir);
      if (v) lines.push(v);
    } else if (
      dir === 'in' &&
      (e.name === 'gen_ai.content.prompt' ||
        /^gen_ai\.(system|user|assistant|tool)\.message$/.test(e.name ?? ''))
    ) {
      const v = attr(e.attributes, 'gen_ai.prompt') ?? attr(e.attributes, 'content');
      if (v) lines.push(`${(e.name ?? '').split('.')[1] ?? ''}: ${v}`);
    } else if (dir === 'out' && (e.name === 'gen_ai.content.completion' || e.name === 'gen_ai.choice')) {
      const v =
        attr(e.attributes, 'gen_ai.completion') ??
        attr(e.attributes, 'message') ??
        attr(e.attributes, 'content');
      if (v) lines.push(renderMessages(v));
    }
  }
  return lines.length > 0 ? lines.join('\n') : undefined;
}

const cap = (s: string, max: number): string => (s.length > max ? `${s.slice(0, max)}…[truncated]` : s);

/**
 * The input and output text of a model-call span, or undefined when content was not captured (both
 * sides are needed to judge an answer). Each side is capped at `maxChars`.
 */
export function exchangeOf(span: Span, maxChars: number): Exchange | undefined {
  const input = side(span.attributes, 'in') ?? fromEvents(span, 'in');
  const output = side(span.attributes, 'out') ?? fromEvents(span, 'out');
  if (!input || !output) return undefined;
  return { input: cap(input, maxChars), output: cap(output, maxChars) };
}

/** Retrieved documents on a retrieval span (OTel GenAI or OpenInference), as text; undefined when none. */
export function documentsOf(span: Span, maxChars: number): string | undefined {
  const semconv = attr(span.attributes, 'gen_ai.retrieval.documents');
  if (semconv) return cap(renderMessages(semconv), maxChars);
  const docs = indexed(span.attributes, 'retrieval.documents.', '', [/^document\.content$/]);
  return docs ? cap(docs, maxChars) : undefined;
}
