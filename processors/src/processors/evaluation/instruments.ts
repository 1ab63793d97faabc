import type { CreateSettings } from '../../component/component.ts';
import { DEFAULT_RESOURCE_ATTRIBUTES } from '../genaimetrics/config.ts';
import { DerivedMetricsFeed } from '../genaimetrics/feed.ts';
import type { Instrument } from '../genaimetrics/instruments.ts';
import type { EvaluationConfig } from './config.ts';

export const VERDICTS: Instrument = {
  name: 'llmobs.eval.verdicts',
  description: 'Judge verdicts on model calls, by rubric (gen_ai.evaluation.name) and verdict (pass, fail).',
  unit: '{verdict}',
  kind: 'counter',
};

export const JUDGE_COST: Instrument = {
  name: 'llmobs.eval.judge.cost',
  description: 'What the judge calls cost, in USD, priced with the llm_cost catalogue.',
  unit: '{USD}',
  kind: 'counter',
};

export const EVAL_INSTRUMENTS: readonly Instrument[] = [VERDICTS, JUDGE_COST];

/**
 * The feed of an llm_evaluation instance's counts into its metrics pipelines. Verdicts are rare, so
 * series live an hour; the scope name keeps the traces and logs instances' series apart.
 */
export function verdictFeed(
  set: CreateSettings,
  cfg: EvaluationConfig,
  instruments: readonly Instrument[],
  scopeName: string,
): DerivedMetricsFeed {
  return new DerivedMetricsFeed(set, {
    pipelines: cfg.metricsPipelines,
    flushIntervalMs: cfg.flushIntervalMs,
    seriesTtlMs: 3_600_000,
    maxSeriesPerMetric: 2000,
    resourceAttributes: DEFAULT_RESOURCE_ATTRIBUTES,
    instruments,
    scope: { name: scopeName, version: '0.1.0' },
  });
}
