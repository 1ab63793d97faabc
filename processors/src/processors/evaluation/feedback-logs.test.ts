import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LogsRequest, MetricsRequest } from '../../otlp/model.ts';
import { settings, sink } from '../../testing/components.ts';
import { parseEvaluationConfig } from './config.ts';
import { FeedbackLogProcessor } from './feedback-logs.ts';

const record = (value: string, eventName?: string) => ({
  ...(eventName ? { eventName } : {}),
  traceId: new Uint8Array(16).fill(3),
  attributes: [{ key: 'llmobs.feedback.value', value: { stringValue: value } }],
});

describe('llm_evaluation in a logs pipeline', () => {
  it('counts feedback sent as OTLP events with the verdicts, rubric user_feedback, and passes the logs on', async () => {
    const cfg = parseEvaluationConfig({
      judge: { endpoint: 'http://judge.invalid/v1', model: 'gpt-4o-mini' },
      rubrics: [{ name: 'answered', question: 'q' }],
      metrics_pipelines: ['metrics/eval'],
    });
    assert.ok(!Array.isArray(cfg));
    const metrics = sink<'metrics'>();
    const next = sink<'logs'>();
    const p = new FeedbackLogProcessor(settings('llm_evaluation', { 'metrics/eval': metrics }), cfg, next);
    const logs: LogsRequest = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'chat' } }] },
          scopeLogs: [
            {
              logRecords: [
                record('thumbs_down', 'llmobs.feedback'),
                record('thumbs_down'),
                record('thumbs_up', 'llmobs.feedback'),
                record('thumbs_down', 'some.other.event'),
                { attributes: [{ key: 'message', value: { stringValue: 'hello' } }] },
              ],
            },
          ],
        },
      ],
    };
    await p.consume(logs);
    assert.equal(next.received[0], logs, 'passed on as it came');
    await p.feed.flush();
    const req = metrics.received[0] as MetricsRequest;
    const points = req.resourceMetrics.flatMap((rm) =>
      rm.scopeMetrics.flatMap((sm) => sm.metrics.flatMap((m) => m.sum?.dataPoints ?? [])),
    );
    const of = (v: string) =>
      points.find((d) =>
        d.attributes.some((a) => a.key === 'llmobs.eval.verdict' && a.value?.stringValue === v),
      )?.asDouble;
    assert.equal(of('fail'), 2);
    assert.equal(of('pass'), 1);
    assert.equal(
      req.resourceMetrics[0]?.scopeMetrics[0]?.scope?.name,
      'llmobs.dev/processor/llm_evaluation/feedback',
    );
  });
});
