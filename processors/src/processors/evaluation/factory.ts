import type { Consumer } from '../../component/component.ts';
import type { ProcessorFactory } from '../../component/factory.ts';
import type { Processor } from '../../component/processor.ts';
import { CONFIG_SCHEMA, type EvaluationConfig, parseEvaluationConfig, pipelineRefs } from './config.ts';
import { FeedbackLogProcessor } from './feedback-logs.ts';
import { EvaluationProcessor } from './processor.ts';

/** `llm_evaluation`: asynchronous LLM-as-judge with TRUE/FALSE rubrics, budgets and time-boxed calls. */
export const evaluationFactory: ProcessorFactory<EvaluationConfig> = {
  kind: 'processor',
  type: 'llm_evaluation',
  // Judged calls get llmobs.eval.pending (for llm_sampling), appended: the received bytes can be patched.
  mutatesData: 'appends',
  signals: ['traces', 'logs'],
  schema: CONFIG_SCHEMA,
  parse: (block) => parseEvaluationConfig(block),
  emitsTo: (cfg) => pipelineRefs(cfg),
  // In a logs pipeline it only counts user feedback sent as OTLP events.
  create(set, cfg, signal, next) {
    if (signal === 'logs')
      return new FeedbackLogProcessor(set, cfg, next as unknown as Consumer<'logs'>) as unknown as Processor<
        typeof signal
      >;
    return new EvaluationProcessor(set, cfg, next as unknown as Consumer<'traces'>) as unknown as Processor<
      typeof signal
    >;
  },
};
