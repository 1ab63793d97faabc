import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type MockLlm, startMockLlm } from '../../../../test/mock-llm/server.ts';
import { agreementOf, parseLabels, type RubricAgreement, runCalibrate } from './calibrate.ts';

describe('agreementOf', () => {
  it("computes agreement and Cohen's kappa", () => {
    // n = 50; observed agreement (20 + 15) / 50 = 0.7; judge passes 25/50, humans 30/50;
    // chance agreement 0.5 × 0.6 + 0.5 × 0.4 = 0.5; kappa = (0.7 − 0.5) / (1 − 0.5) = 0.4.
    const a = agreementOf({ tp: 20, fp: 5, fn: 10, tn: 15 });
    assert.ok(Math.abs(a.agreement - 0.7) < 1e-12);
    assert.ok(Math.abs(a.kappa - 0.4) < 1e-12);
    assert.equal(agreementOf({ tp: 5, fp: 0, fn: 0, tn: 5 }).kappa, 1);
  });
});

describe('parseLabels', () => {
  it('names the line and field of a bad example', () => {
    assert.equal(
      parseLabels('{"rubric":"a","input":"q","output":"x","label":"yes"}'),
      'line 1: "label" must be true or false',
    );
    assert.equal(parseLabels('\n{oops'), 'line 2: not JSON');
  });
});

describe('eval calibrate', () => {
  let mock: MockLlm;
  before(async () => {
    mock = await startMockLlm();
  });
  after(() => mock.close());

  it('reports how often the judge agrees with human labels', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmobs-calibrate-'));
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      `receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:0" } } } }
processors:
  llm_evaluation:
    judge: { endpoint: "${mock.url}", model: mock-judge, max_concurrency: 2 }
    rubrics: [{ name: correct, question: Is the answer correct? }]
exporters: { debug: {} }
service: { pipelines: { traces: { receivers: [otlp], processors: [llm_evaluation], exporters: [debug] } } }
`,
    );
    // The mock judge fails answers containing WRONG. Humans: 4 right answers (one of them labelled
    // bad by the human), 2 wrong ones — so the judge agrees on 5 of 6.
    const ex = (output: string, label: boolean) =>
      JSON.stringify({ rubric: 'correct', input: 'q', output, label });
    const labels = join(dir, 'labels.jsonl');
    writeFileSync(
      labels,
      [
        ex('a', true),
        ex('b', true),
        ex('c', true),
        ex('d', false),
        ex('WRONG e', false),
        ex('WRONG f', false),
      ].join('\n'),
    );
    let out = '';
    const code = await runCalibrate(
      ['eval', 'calibrate', '--config', config, '--labels', labels, '--json'],
      (s) => {
        out += s;
      },
      () => {},
    );
    assert.equal(code, 0);
    const [r] = JSON.parse(out) as RubricAgreement[];
    assert.deepEqual(r?.confusion, { tp: 3, fp: 1, fn: 0, tn: 2 });
    assert.ok(Math.abs((r?.agreement ?? 0) - 5 / 6) < 1e-12);
    assert.equal(r?.unanswered, 0);
  });

  it('says what is missing', async () => {
    let err = '';
    const code = await runCalibrate(
      ['eval', 'calibrate', '--config', 'x.yaml'],
      () => {},
      (s) => {
        err += s;
      },
    );
    assert.equal(code, 2);
    assert.match(err, /--config and --labels are required/);
  });
});
