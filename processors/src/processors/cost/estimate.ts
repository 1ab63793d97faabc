import { normaliseProvider } from '../../genai/dialects.ts';
import { factString, type SpanFacts } from '../../genai/span-facts.ts';
import { emptyBuckets, type NormalisedUsage, type UsageRules, usageOf } from '../../genai/usage.ts';
import type { ServiceTier } from '../../pricing/catalogue.ts';
import type { PriceMatch } from '../../pricing/index.ts';
import { type Cost, periodAt, priceUsage } from '../../pricing/price.ts';
import type { CostStatus } from './attributes.ts';
import type { CostConfig } from './config.ts';

export interface Estimate {
  readonly status: CostStatus;
  readonly provider: string | undefined;
  /** The model id the span reported (response model, else request model). */
  readonly model: string | undefined;
  readonly usage: NormalisedUsage | undefined;
  readonly match?: PriceMatch;
  readonly cost?: Cost;
}

/** The rules when none are configured, as one object: usage normalised under it is shared per span. */
const NO_RULES: UsageRules = {};

const SERVICE_TIERS: Readonly<Record<string, ServiceTier>> = {
  priority: 'priority',
  flex: 'flex',
  batch: 'batch',
};

/**
 * Prices one span from its GenAI facts. Pure: reads facts, returns what to write. Undefined for
 * spans that are not model calls (no model and no tokens).
 */
export function estimate(
  cfg: CostConfig,
  facts: SpanFacts,
  startMs: number,
  durationSeconds: number,
): Estimate | undefined {
  const provider = normaliseProvider(factString(facts, 'provider'));
  const responseModel = factString(facts, 'responseModel');
  const requestModel = factString(facts, 'requestModel');
  const model = responseModel ?? requestModel;
  const usage = usageOf(facts, cfg.usageRules.get(provider ?? '') ?? cfg.usageRules.get('*') ?? NO_RULES);
  if (!model && !usage) return undefined;
  const match =
    (responseModel ? cfg.index.lookup(provider, responseModel) : undefined) ??
    (requestModel && requestModel !== responseModel ? cfg.index.lookup(provider, requestModel) : undefined);
  const period = match ? periodAt(match.entry.prices, startMs) : undefined;
  if (!match || !period) return { status: 'unknown_model', provider, model, usage };
  const perHourOnly =
    period.input === undefined && period.output === undefined && period.per_hour !== undefined;
  if (!usage && !perHourOnly) return { status: 'no_usage', provider, model, usage, match };
  const tierRaw = factString(facts, 'serviceTier')?.toLowerCase();
  const serviceTier = tierRaw ? SERVICE_TIERS[tierRaw] : undefined;
  const cost = priceUsage(
    period,
    usage ?? {
      buckets: emptyBuckets(),
      inputTotal: 0,
      outputTotal: 0,
      inputIncludesCache: true,
      outputIncludesReasoning: true,
      ruleSource: 'default',
    },
    { ...(serviceTier ? { serviceTier } : {}), durationSeconds },
  );
  return { status: cost.unpriced.length > 0 ? 'partial' : 'ok', provider, model, usage, match, cost };
}
