import type { Consumer, CreateSettings } from '../../component/component.ts';
import type { Processor } from '../../component/processor.ts';
import { seriesKey } from '../../metrics/cardinality/series-key.ts';
import type { KeyValue, LogsRequest, Resource } from '../../otlp/model.ts';
import { FEEDBACK } from '../../receivers/feedback/feedback.ts';
import type { DerivedMetricsFeed } from '../genaimetrics/feed.ts';
import type { EvaluationConfig } from './config.ts';
import { VERDICTS, verdictFeed } from './instruments.ts';

/** The OTLP event shape of user feedback: a log record named so (or any log record carrying the attribute). */
export const FEEDBACK_EVENT = 'llmobs.feedback';

interface FeedbackRecord {
  eventName?: string;
  attributes?: KeyValue[];
}

/**
 * `llm_evaluation` in a logs pipeline: counts user feedback sent as OTLP events (log records with
 * event name `llmobs.feedback`, or carrying `llmobs.feedback.value`, with the answer's trace context)
 * into the same `llmobs.eval.verdicts` counts as the traces instance — rubric `user_feedback`, thumbs
 * up passes. Its series carry their own instrumentation scope, so they never collide with the traces
 * instance's. Log records pass through unchanged.
 */
export class FeedbackLogProcessor implements Processor<'logs'> {
  readonly #next: Consumer<'logs'>;
  readonly #feed: DerivedMetricsFeed;

  constructor(set: CreateSettings, cfg: EvaluationConfig, next: Consumer<'logs'>) {
    this.#next = next;
    this.#feed = verdictFeed(set, cfg, [VERDICTS], 'llmobs.dev/processor/llm_evaluation/feedback');
  }

  get feed(): DerivedMetricsFeed {
    return this.#feed;
  }

  /** Counts the feedback events of `data` (exposed for tests). */
  observe(data: LogsRequest, now = Date.now()): void {
    for (const rl of data.resourceLogs) {
      let rk: string | undefined;
      for (const sl of rl.scopeLogs) {
        for (const raw of sl.logRecords) {
          const r = raw as FeedbackRecord;
          const value = r.attributes?.find((kv) => kv.key === FEEDBACK.value)?.value?.stringValue;
          if (value !== 'thumbs_up' && value !== 'thumbs_down') continue;
          if (r.eventName && r.eventName !== FEEDBACK_EVENT) continue;
          rk ??= this.#feed.resource(rl.resource as Resource | null | undefined, now);
          const attrs: KeyValue[] = [
            { key: 'gen_ai.evaluation.name', value: { stringValue: 'user_feedback' } },
            { key: 'llmobs.eval.verdict', value: { stringValue: value === 'thumbs_up' ? 'pass' : 'fail' } },
          ];
          this.#feed.aggregator.record(VERDICTS, rk, seriesKey(attrs), () => attrs, 1, now);
        }
      }
    }
  }

  async consume(data: LogsRequest): Promise<void> {
    this.observe(data);
    return this.#next.consume(data);
  }

  async start(): Promise<void> {
    this.#feed.start();
  }

  async shutdown(): Promise<void> {
    await this.#feed.stop();
  }
}
