import type { Consumer } from '../../component/component.ts';
import type { FieldError, ReceiverFactory } from '../../component/factory.ts';
import { parseHostPort } from '../../config/schema-helpers.ts';
import { FeedbackReceiver, type FeedbackReceiverConfig } from './receiver.ts';

/** `llm_feedback`: thumbs up/down by trace id over HTTP, turned into feedback spans. Traces only. */
export const feedbackReceiverFactory: ReceiverFactory<FeedbackReceiverConfig> = {
  kind: 'receiver',
  type: 'llm_feedback',
  signals: ['traces'],
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      endpoint: { type: 'string', default: 'localhost:4320' },
      path: { type: 'string', pattern: '^/', default: '/v1/feedback' },
      max_items: { type: 'integer', minimum: 1, maximum: 10_000, default: 100 },
    },
  },
  parse(block) {
    const errors: FieldError[] = [];
    const hp = parseHostPort('endpoint', String(block.endpoint ?? 'localhost:4320'), errors);
    if (errors.length > 0) return errors;
    return { ...hp, path: String(block.path ?? '/v1/feedback'), maxItems: Number(block.max_items ?? 100) };
  },
  create(set, cfg, consumers) {
    const traces = consumers.traces;
    if (!traces) throw new Error(`${set.id} feeds traces pipelines only, and none lists it`);
    return new FeedbackReceiver(set, cfg, traces as Consumer<'traces'>);
  },
};
