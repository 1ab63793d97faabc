import type { AnyValue, KeyValue, Span } from '../otlp/model.ts';
import { type Fact, KEY_INDEX } from './dialects.ts';
import { numberOf, stringOf } from './values.ts';

/** The GenAI facts of one span, read in a single pass over its attributes whatever the dialect. */
export type SpanFacts = Partial<Record<Fact, AnyValue>>;

/**
 * Reads every known GenAI attribute of `attrs` into one object: for each fact the best-ranked
 * spelling present. Returns undefined when the span has none (most spans of an app), so callers
 * skip them at the cost of one Map lookup per attribute.
 */
export function readFacts(attrs: readonly KeyValue[]): SpanFacts | undefined {
  let facts: SpanFacts | undefined;
  let ranks: Partial<Record<Fact, number>> | undefined;
  for (const kv of attrs) {
    const hit = KEY_INDEX.get(kv.key);
    if (!hit || !kv.value) continue;
    facts ??= {};
    ranks ??= {};
    const prev = ranks[hit.fact];
    if (prev === undefined || hit.rank < prev) {
      facts[hit.fact] = kv.value;
      ranks[hit.fact] = hit.rank;
    }
  }
  return facts;
}

export function factNumber(f: SpanFacts, fact: Fact): number | undefined {
  const n = numberOf(f[fact]);
  return n === undefined || n < 0 ? undefined : n;
}

export function factString(f: SpanFacts, fact: Fact): string | undefined {
  return stringOf(f[fact]);
}

/**
 * Facts already read, kept on the span object itself under a symbol (protobufjs encodes only the
 * fields it knows, so this never reaches the wire): several processors of a pipeline read the same
 * span, and a WeakMap entry per span costs more than the read it saves.
 */
const FACTS = Symbol('llmobs.genai.facts');
type WithFacts = Span & { [FACTS]?: SpanFacts | null };

/**
 * `readFacts(span.attributes)`, read once per span and shared by the processors of a pipeline. A
 * processor that changes a span's GenAI attributes afterwards must say so with `noteFact` (or
 * `forgetFacts`), so the next one does not read stale facts.
 */
export function factsOf(span: Span): SpanFacts | undefined {
  const s = span as WithFacts;
  const hit = s[FACTS];
  if (hit !== undefined) return hit ?? undefined;
  const facts = readFacts(span.attributes);
  s[FACTS] = facts ?? null;
  return facts;
}

/** Records a fact a processor has just written onto the span (e.g. llm_cost's cost amount). */
export function noteFact(span: Span, fact: Fact, value: AnyValue): void {
  // Only a span whose facts were read holds a cache to update; any other reads the attribute itself.
  const facts = (span as WithFacts)[FACTS];
  if (facts) facts[fact] = value;
}

export function forgetFacts(span: Span): void {
  (span as WithFacts)[FACTS] = undefined;
}
