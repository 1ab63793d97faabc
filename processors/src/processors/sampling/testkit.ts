/** Shared helpers of the llm_sampling tests (not used by the processor itself). */
import assert from 'node:assert/strict';
import type { Consumer } from '../../component/component.ts';
import { BackpressureError } from '../../component/errors.ts';
import { idToHex } from '../../otlp/ids.ts';
import type { KeyValue, Span, TracesRequest } from '../../otlp/model.ts';
import { settings } from '../../testing/components.ts';
import { type AttrValue, keyValues, type SpanSpec, traces } from '../../testing/genai-spans.ts';
import { parseSamplingConfig, type SamplingConfig } from './config.ts';
import { SamplingProcessor } from './processor.ts';

/** A compiled config from a block as written in YAML (schema defaults come from parse's own). */
export function config(block: Record<string, unknown> = {}): SamplingConfig {
  const c = parseSamplingConfig({ decision_wait: '10s', root_grace: '1s', ...block });
  assert.ok(!Array.isArray(c), JSON.stringify(c));
  return c;
}

/** Policies block with everything but `keep` switched off, and nothing sampled probabilistically. */
export function only(keep: string, settings: Record<string, unknown> = {}): Record<string, unknown> {
  const off = ['errors', 'guardrail', 'validation', 'latency', 'cost', 'low_score', 'feedback'];
  return {
    ...Object.fromEntries(off.map((p) => [p, { enabled: p === keep, ...(p === keep ? settings : {}) }])),
    probabilistic: { sampling_percentage: 0 },
  };
}

/** A next consumer that keeps what it gets and can be told to refuse (BackpressureError) or fail. */
export function downstream(): Consumer<'traces'> & {
  received: TracesRequest[];
  refuse: number;
  fail: Error | undefined;
  calls: number;
} {
  const d = {
    received: [] as TracesRequest[],
    refuse: 0,
    fail: undefined as Error | undefined,
    calls: 0,
    async consume(data: TracesRequest): Promise<void> {
      d.calls++;
      if (d.fail) throw d.fail;
      if (d.refuse > 0) {
        d.refuse--;
        throw new BackpressureError('sending queue of exporter otlp_http is full');
      }
      d.received.push(data);
    },
  };
  return d;
}

/** A processor on a hand-driven clock (no timer: the test calls tick). */
export function harness(block: Record<string, unknown> = {}) {
  const clock = { now: 1_000_000 };
  const set = settings('llm_sampling');
  const next = downstream();
  const p = new SamplingProcessor(set, config(block), next, { now: () => clock.now });
  return {
    p,
    set,
    next,
    clock,
    /** Moves the clock and ticks. */
    async at(ms: number) {
      clock.now = ms;
      await p.tick(ms);
    },
    async after(ms: number) {
      clock.now += ms;
      await p.tick(clock.now);
    },
  };
}

/** Trace ids (hex) of every span in what `next` received, in order, deduplicated. */
export function keptTraces(received: readonly TracesRequest[]): string[] {
  const out = new Set<string>();
  for (const r of received)
    for (const rs of r.resourceSpans)
      for (const ss of rs.scopeSpans)
        for (const s of ss.spans) out.add(idToHex(s.traceId ?? new Uint8Array()));
  return [...out];
}

export function spansOf(received: readonly TracesRequest[]): Span[] {
  return received.flatMap((r) => r.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)));
}

/** A small deterministic generator (xorshift32), so statistical tests see the same ids every run. */
export function ids(seed: number): () => string {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  return () => {
    let hex = '';
    for (let i = 0; i < 4; i++) hex += next().toString(16).padStart(8, '0');
    return hex;
  };
}

export const ROOT_ID = '00000000000000aa';

/** One trace: a root with `root` attributes and a child LLM call with `child` attributes. */
export function trace(
  traceId: string,
  child: Partial<SpanSpec> = {},
  root: Partial<SpanSpec> = {},
): TracesRequest {
  return traces([
    { name: 'chat', traceId, parentSpanId: ROOT_ID, spanId: '00000000000000bb', ...child },
    { name: 'POST /chat', traceId, spanId: ROOT_ID, ...root },
  ]);
}

/** Adds an event to the first span of `req` with the given attributes. */
export function withEvent(req: TracesRequest, name: string, attrs: Record<string, AttrValue>): TracesRequest {
  const s = req.resourceSpans[0]?.scopeSpans[0]?.spans[0];
  assert.ok(s);
  s.events.push({ name, attributes: keyValues(attrs), timeUnixNano: 1 });
  return req;
}

export function attrs(o: Record<string, AttrValue>): KeyValue[] {
  return keyValues(o);
}
