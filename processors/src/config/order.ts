import type { PipelineConfig } from './validate.ts';

/**
 * Orders of processors that run but do something other than what was meant, as warnings: the config
 * is valid, and a Collector user would not expect a refusal, but each of these leaks or skews data.
 */
export function orderWarnings(pipelines: readonly PipelineConfig[]): string[] {
  const out: string[] = [];
  const typeOf = (id: string) => id.split('/')[0] ?? id;
  for (const p of pipelines) {
    const types = p.processors.map(typeOf);
    const at = (t: string) => types.indexOf(t);
    const path = `service.pipelines.${p.id}.processors`;
    const redaction = at('llm_redaction');
    const evaluation = at('llm_evaluation');
    if (evaluation >= 0 && (redaction < 0 || redaction > evaluation))
      out.push(
        `${path}: llm_evaluation sends content to its judge before any llm_redaction: the judge sees unredacted prompts`,
      );
    const sampling = at('llm_sampling');
    for (const t of ['llm_cost', 'llm_metrics', 'llm_evaluation']) {
      const i = at(t);
      if (sampling >= 0 && i > sampling)
        out.push(
          `${path}: ${t} after llm_sampling sees only the traces it kept${t === 'llm_metrics' ? ' (rates and error ratios skew)' : ''}; put llm_sampling last`,
        );
    }
  }
  return out;
}
