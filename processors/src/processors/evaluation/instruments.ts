import type { Instrument } from '../genaimetrics/instruments.ts';

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
