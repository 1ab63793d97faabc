import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { runPythonClient } from '../harness/clients.ts';
import { type Jaeger, startJaeger } from '../harness/jaeger.ts';
import { port, processorConfig, type RunningProcessor, startProcessor } from '../harness/llmobs-processor.ts';
import { type RunningPrometheus, startPrometheus } from '../harness/prometheus.ts';
import { type MockLlm, startMockLlm } from '../mock-llm/server.ts';

/**
 * Quality telemetry end to end: a real instrumented Python client talks to the mock LLM through the
 * processor; llm_evaluation asks the mock (acting as judge, deterministic per input) about every
 * answer; verdict spans land in Jaeger under the judged call; user feedback posted by trace id lands
 * there too; Prometheus scrapes the pass/fail counts.
 */
describe('LLM-as-judge and user feedback with a real client, Jaeger and Prometheus', () => {
  let mock: MockLlm;
  let jaeger: Jaeger;
  let proc: RunningProcessor;
  let prom: RunningPrometheus;

  before(async () => {
    [mock, jaeger] = await Promise.all([startMockLlm(), startJaeger()]);
    proc = await startProcessor({
      config: processorConfig({
        extraReceivers: { llm_feedback: { endpoint: `127.0.0.1:${port('feedback')}` } },
        processors: {
          llm_evaluation: {
            judge: { endpoint: mock.url, model: 'mock-judge', timeout: '5s' },
            rubrics: [{ name: 'answered_question', question: 'Does the answer address the question?' }],
            sampling_percentage: 100,
            metrics_pipelines: ['metrics/quality'],
            flush_interval: '500ms',
          },
        },
        exporters: {
          'otlp_grpc/jaeger': { endpoint: jaeger.otlpGrpcEndpoint, tls: { insecure: true } },
          prometheus: { endpoint: `127.0.0.1:${port('prom')}` },
        },
        pipelines: {
          traces: {
            receivers: ['otlp', 'llm_feedback'],
            processors: ['llm_evaluation'],
            exporters: ['otlp_grpc/jaeger'],
          },
          'metrics/quality': { receivers: [], exporters: ['prometheus'] },
        },
      }),
    });
    prom = await startPrometheus({ scrapeTargets: [`127.0.0.1:${proc.ports.prom}`], scrapeIntervalMs: 500 });
  });
  after(async () => {
    await prom?.stop();
    const code = await proc?.stop();
    await Promise.all([jaeger?.stop(), mock?.close()]);
    assert.equal(code, 0, 'the processor exits cleanly');
  });

  test('each answer gets a verdict span in its trace; feedback by trace id joins it; pass rate reaches Prometheus', async () => {
    const serviceName = `eval-${randomBytes(3).toString('hex')}`;
    const prompts = [
      `Where is the Louvre? ${randomBytes(3).toString('hex')}`,
      `Where is the Prado? WRONG ${randomBytes(3).toString('hex')}`,
    ];
    for (const prompt of prompts) {
      await runPythonClient({
        variant: 'openllmetry',
        scenario: 'chat',
        serviceName,
        prompt,
        captureContent: true,
        llmBaseUrl: mock.url,
        otlpEndpoint: proc.otlpHttpEndpoint,
      });
    }
    const verdicts = await jaeger.waitForSpans(
      serviceName,
      (s) => s.name === 'evaluate answered_question',
      30_000,
      2,
    );
    const calls = await jaeger.waitForSpans(
      serviceName,
      (s) => s.attributes['gen_ai.request.model'] !== undefined,
      5_000,
      2,
    );
    for (const v of verdicts) {
      const judged = calls.find((c) => c.spanId === v.parentSpanId);
      assert.ok(judged, 'the verdict is a child of the judged call');
      assert.equal(v.traceId, judged.traceId);
      const wrong = JSON.stringify(judged.attributes).includes('WRONG');
      assert.equal(v.attributes['gen_ai.evaluation.score.label'], wrong ? 'fail' : 'pass');
      assert.ok(v.events.some((e) => e.name === 'gen_ai.evaluation.result'));
    }

    const failed = calls.find((c) => JSON.stringify(c.attributes).includes('WRONG'));
    assert.ok(failed);
    const res = await fetch(`http://127.0.0.1:${proc.ports.feedback}/v1/feedback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        trace_id: failed.traceId,
        span_id: failed.spanId,
        value: 'thumbs_down',
        service: serviceName,
      }),
    });
    assert.equal(res.status, 202);
    const [fb] = await jaeger.waitForSpans(serviceName, (s) => s.name === 'feedback');
    assert.equal(fb?.traceId, failed.traceId);
    assert.equal(fb?.attributes['llmobs.feedback.value'], 'thumbs_down');

    const rate = await prom.waitForQuery(
      `sum(llmobs_eval_verdicts_total{exported_job="${serviceName}",gen_ai_evaluation_name="answered_question",llmobs_eval_verdict="pass"}) / sum(llmobs_eval_verdicts_total{exported_job="${serviceName}",gen_ai_evaluation_name="answered_question"})`,
      (r) => r.length === 1 && r[0]?.value === 0.5,
      30_000,
    );
    assert.equal(rate[0]?.value, 0.5, 'one of two answers passed');
    await prom.waitForQuery(
      `sum(llmobs_eval_verdicts_total{exported_job="${serviceName}",gen_ai_evaluation_name="user_feedback",llmobs_eval_verdict="fail"})`,
      (r) => r.length === 1 && r[0]?.value === 1,
      30_000,
    );
  });
});
