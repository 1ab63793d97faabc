import { readFileSync } from 'node:fs';
import type { FieldError } from '../../component/factory.ts';
import { DURATION, durationField } from '../../config/schema-helpers.ts';
import type { UsageRules } from '../../genai/usage.ts';
import { BUCKETS, type ModelEntry } from '../../pricing/catalogue.ts';
import { CONFIG_SOURCE, PriceIndex, WILDCARD } from '../../pricing/index.ts';
import { loadCatalogue, shippedCatalogue } from '../../pricing/load.ts';

/** The compiled configuration of one `llm_cost` processor. */
export interface CostConfig {
  readonly currency: string;
  readonly index: PriceIndex;
  /** By `gen_ai.provider.name` (normalised); `*` applies to providers without their own rule. */
  readonly usageRules: ReadonlyMap<string, UsageRules>;
  /** Write the readers' aliases (gen_ai.usage.cost, llm.cost.*); only when the currency is USD, as they are defined in USD. */
  readonly readerAliases: boolean;
  /** Add OpenInference cache/reasoning token counts when absent, so Datadog's own cost estimate splits buckets. */
  readonly tokenAliases: boolean;
  /** Keep a cost the instrumentation already reported (Langfuse's rule: ingested cost wins). */
  readonly keepReportedCost: boolean;
  readonly rollup: { readonly enabled: boolean; readonly maxTraces: number; readonly ttlMs: number };
}

const PRICE = { type: 'number', minimum: 0 } as const;
const BUCKET_PROPS = Object.fromEntries(BUCKETS.map((b) => [b, PRICE]));

export const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    currency: { type: 'string', pattern: '^[A-Z]{3}$', default: 'USD' },
    builtin_catalogue: { type: 'boolean', default: true },
    catalogue_files: { type: 'array', items: { type: 'string', minLength: 1 } },
    prices: {
      type: 'array',
      maxItems: 1024,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['model'],
        properties: {
          model: { type: 'string', minLength: 1 },
          provider: { type: 'string', minLength: 1 },
          aliases: { type: 'array', items: { type: 'string', minLength: 1 } },
          ...BUCKET_PROPS,
          per_hour: PRICE,
          context_tiers: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['above'],
              properties: { above: { type: 'integer', minimum: 1 }, ...BUCKET_PROPS },
            },
          },
        },
      },
    },
    model_aliases: { type: 'object', additionalProperties: { type: 'string', minLength: 1 } },
    usage_rules: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['provider'],
        properties: {
          provider: { type: 'string', minLength: 1 },
          input_includes_cache: { type: 'boolean' },
          output_includes_reasoning: { type: 'boolean' },
        },
      },
    },
    reader_aliases: { type: 'boolean', default: true },
    token_aliases: { type: 'boolean', default: true },
    keep_reported_cost: { type: 'boolean', default: true },
    rollup: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean', default: true },
        max_traces: { type: 'integer', minimum: 1, default: 100_000 },
        ttl: { ...DURATION, default: '5m' },
      },
      default: {},
    },
  },
} as const;

interface PriceBlock {
  model: string;
  provider?: string;
  aliases?: string[];
  per_hour?: number;
  context_tiers?: ({ above: number } & Record<string, number>)[];
  [bucket: string]: unknown;
}

function overrideEntries(blocks: readonly PriceBlock[], errors: FieldError[]): ModelEntry[] {
  return blocks.map((b, i) => {
    const prices: Record<string, number> = {};
    for (const k of BUCKETS) if (typeof b[k] === 'number') prices[k] = b[k] as number;
    if (Object.keys(prices).length === 0 && b.per_hour === undefined)
      errors.push({
        path: `prices.${i}`,
        message: 'needs at least one price (e.g. input, output) or per_hour',
      });
    const tiers = b.context_tiers ?? [];
    tiers.forEach((t, j) => {
      if (j > 0 && t.above <= (tiers[j - 1]?.above ?? 0))
        errors.push({
          path: `prices.${i}.context_tiers.${j}.above`,
          message: 'must be greater than the previous tier',
        });
    });
    return {
      provider: b.provider ?? WILDCARD,
      model: b.model.toLowerCase(),
      ...(b.aliases ? { aliases: b.aliases.map((a) => a.toLowerCase()) } : {}),
      source: CONFIG_SOURCE,
      read: '',
      prices: [
        {
          ...prices,
          ...(b.per_hour !== undefined ? { per_hour: b.per_hour } : {}),
          ...(tiers.length > 0 ? { context_tiers: tiers } : {}),
        },
      ],
    };
  });
}

export function parseCostConfig(block: Record<string, unknown>): CostConfig | FieldError[] {
  const errors: FieldError[] = [];
  const currency = String(block.currency ?? 'USD');
  const builtin = block.builtin_catalogue !== false;
  const catalogues: ModelEntry[][] = [];

  catalogues.push(overrideEntries((block.prices ?? []) as PriceBlock[], errors));
  ((block.catalogue_files ?? []) as string[]).forEach((file, i) => {
    try {
      const c = loadCatalogue(readFileSync(file, 'utf8'), file);
      if (c.currency !== currency)
        errors.push({
          path: `catalogue_files.${i}`,
          message: `${file} is in ${c.currency}, not ${currency}`,
        });
      catalogues.push([...c.models]);
    } catch (err) {
      errors.push({ path: `catalogue_files.${i}`, message: (err as Error).message });
    }
  });
  if (builtin) {
    const shipped = shippedCatalogue();
    if (shipped.currency !== currency)
      errors.push({
        path: 'currency',
        message: `the built-in catalogue is in ${shipped.currency}; set builtin_catalogue: false and give prices in ${currency}`,
      });
    catalogues.push([...shipped.models]);
  }

  const aliases = new Map<string, string>();
  for (const [from, to] of Object.entries((block.model_aliases ?? {}) as Record<string, string>))
    aliases.set(from.toLowerCase(), to);

  const usageRules = new Map<string, UsageRules>();
  for (const r of (block.usage_rules ?? []) as {
    provider: string;
    input_includes_cache?: boolean;
    output_includes_reasoning?: boolean;
  }[]) {
    usageRules.set(r.provider, {
      ...(r.input_includes_cache !== undefined ? { inputIncludesCache: r.input_includes_cache } : {}),
      ...(r.output_includes_reasoning !== undefined
        ? { outputIncludesReasoning: r.output_includes_reasoning }
        : {}),
    });
  }

  const rollupBlock = (block.rollup ?? {}) as { enabled?: boolean; max_traces?: number; ttl?: string };
  const ttlMs = durationField('rollup.ttl', String(rollupBlock.ttl ?? '5m'), errors);
  if (errors.length > 0) return errors;
  return {
    currency,
    index: new PriceIndex(catalogues, aliases),
    usageRules,
    readerAliases: block.reader_aliases !== false,
    tokenAliases: block.token_aliases !== false,
    keepReportedCost: block.keep_reported_cost !== false,
    rollup: { enabled: rollupBlock.enabled !== false, maxTraces: rollupBlock.max_traces ?? 100_000, ttlMs },
  };
}
