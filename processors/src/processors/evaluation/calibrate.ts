import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../../config/load.ts';
import { defaultRegistry } from '../../service/registry.ts';
import type { EvaluationConfig } from './config.ts';
import { askJudge, JudgeError, type Rubric } from './judge.ts';

/** One human-labelled example: is this answer good, by this rubric? */
export interface LabelledExample {
  readonly rubric: string;
  readonly input: string;
  readonly output: string;
  readonly documents?: string;
  /** The human's verdict: true = pass. */
  readonly label: boolean;
}

export interface RubricAgreement {
  readonly rubric: string;
  readonly examples: number;
  /** Judge pass & human pass, judge pass & human fail, judge fail & human pass, judge fail & human fail. */
  readonly confusion: { readonly tp: number; readonly fp: number; readonly fn: number; readonly tn: number };
  /** Judge calls that failed or answered something other than TRUE/FALSE (left out of the rates). */
  readonly unanswered: number;
  /** Share of answered examples where judge and human agree. */
  readonly agreement: number;
  /** Cohen's kappa: agreement corrected for chance (1 perfect, 0 chance, < 0 worse than chance). */
  readonly kappa: number;
}

/** Agreement and Cohen's kappa from a confusion matrix. */
export function agreementOf(c: RubricAgreement['confusion']): { agreement: number; kappa: number } {
  const n = c.tp + c.fp + c.fn + c.tn;
  if (n === 0) return { agreement: Number.NaN, kappa: Number.NaN };
  const po = (c.tp + c.tn) / n;
  const judgePass = (c.tp + c.fp) / n;
  const humanPass = (c.tp + c.fn) / n;
  const pe = judgePass * humanPass + (1 - judgePass) * (1 - humanPass);
  return { agreement: po, kappa: pe === 1 ? (po === 1 ? 1 : 0) : (po - pe) / (1 - pe) };
}

export function parseLabels(text: string): LabelledExample[] | string {
  const out: LabelledExample[] = [];
  const lines = text.split('\n');
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return `line ${i + 1}: not JSON`;
    }
    for (const k of ['rubric', 'input', 'output'] as const)
      if (typeof o[k] !== 'string') return `line ${i + 1}: "${k}" must be a string`;
    if (typeof o.label !== 'boolean') return `line ${i + 1}: "label" must be true or false`;
    if (o.documents !== undefined && typeof o.documents !== 'string')
      return `line ${i + 1}: "documents" must be a string`;
    out.push(o as unknown as LabelledExample);
  }
  return out;
}

/** Runs the judge over every example (at the configured concurrency) and compares with the labels. */
export async function calibrate(
  cfg: EvaluationConfig,
  examples: readonly LabelledExample[],
): Promise<RubricAgreement[]> {
  const rubrics = new Map<string, Rubric>(cfg.rubrics.map((r) => [r.name, r]));
  const tally = new Map<
    string,
    { tp: number; fp: number; fn: number; tn: number; unanswered: number; n: number }
  >();
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      const ex = examples[i];
      if (!ex) return;
      const rubric = rubrics.get(ex.rubric);
      if (!rubric) throw new Error(`example ${i + 1}: rubric "${ex.rubric}" is not in the config`);
      const t = tally.get(ex.rubric) ?? { tp: 0, fp: 0, fn: 0, tn: 0, unanswered: 0, n: 0 };
      tally.set(ex.rubric, t);
      t.n++;
      try {
        const r = await askJudge(cfg.judge, rubric, {
          input: ex.input,
          output: ex.output,
          ...(ex.documents !== undefined ? { documents: ex.documents } : {}),
        });
        if (r.verdict === 'unparseable') t.unanswered++;
        else if (r.verdict === 'pass') ex.label ? t.tp++ : t.fp++;
        else ex.label ? t.fn++ : t.tn++;
      } catch (err) {
        if (!(err instanceof JudgeError)) throw err;
        t.unanswered++;
      }
    }
  };
  await Promise.all(Array.from({ length: cfg.maxConcurrency }, worker));
  return [...tally].map(([rubric, t]) => {
    const confusion = { tp: t.tp, fp: t.fp, fn: t.fn, tn: t.tn };
    return { rubric, examples: t.n, confusion, unanswered: t.unanswered, ...agreementOf(confusion) };
  });
}

const USAGE = `usage: llmobs-processor eval calibrate --config FILE --labels FILE.jsonl [--processor ID] [--json]

Runs the judge of the llm_evaluation processor in FILE (the first one, or ID) over human-labelled
examples, one JSON object per line: {"rubric", "input", "output", "documents"?, "label": true|false},
and reports, per rubric, how often judge and humans agree and Cohen's kappa.`;

/** `llmobs-processor eval calibrate …`; returns the exit code (0 ok, 1 failed, 2 usage). */
export async function runCalibrate(
  argv: string[],
  out: (s: string) => void = (s) => process.stdout.write(s),
  err: (s: string) => void = (s) => process.stderr.write(s),
): Promise<number> {
  let values: { config?: string; labels?: string; processor?: string; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv.slice(argv[0] === 'eval' ? 2 : 0),
      options: {
        config: { type: 'string' },
        labels: { type: 'string' },
        processor: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    err(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    out(`${USAGE}\n`);
    return 0;
  }
  if (!values.config || !values.labels) {
    err(`--config and --labels are required\n${USAGE}\n`);
    return 2;
  }
  const loaded = loadConfigFile(values.config, defaultRegistry());
  if (loaded.errors.length > 0 || !loaded.config) {
    err(`${values.config} is invalid:\n  ${loaded.errors.join('\n  ')}\n`);
    return 1;
  }
  const entry = [...loaded.config.processors.values()].find(
    (c) =>
      c.factory.type === 'llm_evaluation' && (values.processor === undefined || c.id === values.processor),
  );
  if (!entry) {
    err(
      `${values.config} has no llm_evaluation processor${values.processor ? ` named ${values.processor}` : ''}\n`,
    );
    return 1;
  }
  const labels = parseLabels(readFileSync(values.labels, 'utf8'));
  if (typeof labels === 'string') {
    err(`${values.labels}: ${labels}\n`);
    return 1;
  }
  let results: RubricAgreement[];
  try {
    results = await calibrate(entry.config as EvaluationConfig, labels);
  } catch (e) {
    err(`${(e as Error).message}\n`);
    return 1;
  }
  if (values.json) {
    out(`${JSON.stringify(results, null, 2)}\n`);
    return 0;
  }
  out(
    'rubric                examples  agreement  kappa   judge+/human+  judge+/human-  judge-/human+  judge-/human-  unanswered\n',
  );
  for (const r of results) {
    const c = r.confusion;
    out(
      `${r.rubric.padEnd(22)}${String(r.examples).padStart(8)}  ${(r.agreement * 100).toFixed(1).padStart(8)}%  ${r.kappa.toFixed(2).padStart(5)}  ${String(c.tp).padStart(13)}  ${String(c.fp).padStart(13)}  ${String(c.fn).padStart(13)}  ${String(c.tn).padStart(13)}  ${String(r.unanswered).padStart(10)}\n`,
    );
  }
  return 0;
}
