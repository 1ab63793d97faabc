import type { BucketPrices } from '../pricing/catalogue.ts';
import { factNumber, type SpanFacts } from './span-facts.ts';

/** Disjoint token buckets: every billed token is in exactly one (keys match the price buckets). */
export type TokenBuckets = Record<keyof BucketPrices, number>;

export function emptyBuckets(): TokenBuckets {
  return {
    input: 0,
    output: 0,
    cache_read: 0,
    cache_write_5m: 0,
    cache_write_1h: 0,
    reasoning: 0,
    audio_input: 0,
    audio_output: 0,
    image_input: 0,
  };
}

/**
 * Whether a dialect's input total already contains the cache tokens and its output total the
 * reasoning tokens. OTel GenAI says both SHOULD (and tells Anthropic instrumentations to add the
 * cache to Anthropic's exclusive `input_tokens`); Anthropic's native counts and Gemini's
 * `candidatesTokenCount` do not. Undefined = decide from the span's own numbers.
 */
export interface UsageRules {
  readonly inputIncludesCache?: boolean;
  readonly outputIncludesReasoning?: boolean;
}

export interface NormalisedUsage {
  readonly buckets: TokenBuckets;
  /** All input tokens of the request (uncached + cache + audio + image): what context tiers compare. */
  readonly inputTotal: number;
  /** All output tokens (text + reasoning + audio). */
  readonly outputTotal: number;
  readonly inputIncludesCache: boolean;
  readonly outputIncludesReasoning: boolean;
  /** How the rules were chosen: configured, from the reported total, from impossible sums, or the semconv default. */
  readonly ruleSource: 'config' | 'total' | 'bounds' | 'default';
}

const n0 = (v: number | undefined): number => v ?? 0;

/**
 * Splits a span's token counts into disjoint buckets, so no token is billed twice (cached tokens at
 * the full and the cache rate, reasoning on top of an output that includes it) and none is missed
 * (Gemini's thoughts outside the output count). Returns undefined when the span reports no tokens.
 *
 * Inclusive or exclusive, in order of trust: the configured rule; the reported total tokens, when
 * exactly one reading adds up to it; counts that are impossible under the inclusive reading (more
 * cached than input tokens); else the OTel GenAI reading (inclusive).
 */
export function normaliseUsage(f: SpanFacts, rules: UsageRules = {}): NormalisedUsage | undefined {
  const input = factNumber(f, 'input');
  const output = factNumber(f, 'output');
  const total = factNumber(f, 'total');
  const cacheRead = n0(factNumber(f, 'cacheRead'));
  const cw = factNumber(f, 'cacheWrite');
  const cw1h = n0(factNumber(f, 'cacheWrite1h'));
  const cw5Reported = factNumber(f, 'cacheWrite5m');
  const reasoning = n0(factNumber(f, 'reasoning'));
  const audioIn = n0(factNumber(f, 'audioInput'));
  const audioOut = n0(factNumber(f, 'audioOutput'));
  const imageIn = n0(factNumber(f, 'imageInput'));
  if (
    input === undefined &&
    output === undefined &&
    total === undefined &&
    cacheRead === 0 &&
    cw === undefined &&
    cw1h === 0 &&
    cw5Reported === undefined
  ) {
    return undefined;
  }
  // A lifetime split, when reported, refines the total; a total alone is the default (5 minute) write.
  const cw5 = cw5Reported ?? Math.max(0, n0(cw) - cw1h);
  const cacheWrite = Math.max(n0(cw), cw5 + cw1h);
  const cache = cacheRead + cacheWrite;

  let inIncl = rules.inputIncludesCache;
  let outIncl = rules.outputIncludesReasoning;
  let ruleSource: NormalisedUsage['ruleSource'] =
    inIncl !== undefined || outIncl !== undefined ? 'config' : 'default';
  const inUndecided = inIncl === undefined && cache > 0 && input !== undefined;
  const outUndecided = outIncl === undefined && reasoning > 0 && output !== undefined;

  if (total !== undefined && (inUndecided || outUndecided)) {
    const matches: [boolean, boolean][] = [];
    for (const i of inUndecided ? [true, false] : [inIncl ?? true]) {
      for (const o of outUndecided ? [true, false] : [outIncl ?? true]) {
        const sum = n0(input) + (i ? 0 : cache) + n0(output) + (o ? 0 : reasoning);
        if (sum === total) matches.push([i, o]);
      }
    }
    if (matches.length === 1 && matches[0]) {
      [inIncl, outIncl] = matches[0];
      ruleSource = 'total';
    }
  }
  if (inIncl === undefined && inUndecided && n0(input) < cache) {
    inIncl = false;
    ruleSource = 'bounds';
  }
  if (outIncl === undefined && outUndecided && n0(output) < reasoning + audioOut) {
    outIncl = false;
    ruleSource = 'bounds';
  }
  inIncl ??= true;
  outIncl ??= true;

  const inputTotal = n0(input) + (inIncl ? 0 : cache);
  const outputTotal = n0(output) + (outIncl ? 0 : reasoning);
  const buckets: TokenBuckets = {
    input: Math.max(0, inputTotal - cache - audioIn - imageIn),
    cache_read: cacheRead,
    cache_write_5m: cw5,
    cache_write_1h: cw1h,
    audio_input: audioIn,
    image_input: imageIn,
    output: Math.max(0, outputTotal - reasoning - audioOut),
    reasoning,
    audio_output: audioOut,
  };
  return {
    buckets,
    inputTotal: Math.max(inputTotal, cache + audioIn + imageIn),
    outputTotal: Math.max(outputTotal, reasoning + audioOut),
    inputIncludesCache: inIncl,
    outputIncludesReasoning: outIncl,
    ruleSource,
  };
}

const USAGE = Symbol('llmobs.genai.usage');
const USAGE_RULES = Symbol('llmobs.genai.usage-rules');
type WithUsage = SpanFacts & { [USAGE]?: NormalisedUsage | null; [USAGE_RULES]?: UsageRules | undefined };

/**
 * `normaliseUsage`, once per span, kept on its facts. A caller with `rules` (llm_cost, with the
 * configured inclusive/exclusive rules) gets a result under exactly those rules; a caller without
 * (llm_metrics) takes whatever an earlier processor normalised, so its token buckets are the ones
 * llm_cost priced.
 */
export function usageOf(f: SpanFacts, rules?: UsageRules): NormalisedUsage | undefined {
  const s = f as WithUsage;
  const memo = s[USAGE];
  if (memo !== undefined && (rules === undefined || s[USAGE_RULES] === rules)) return memo ?? undefined;
  const usage = normaliseUsage(f, rules);
  s[USAGE] = usage ?? null;
  s[USAGE_RULES] = rules;
  return usage;
}
