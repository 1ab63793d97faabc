import { factString, type SpanFacts } from './span-facts.ts';

/** Where in an LLM application a span sits: the "pipeline stage" RED metrics are split by. */
export type Stage = 'llm' | 'embedding' | 'retrieval' | 'rerank' | 'tool' | 'agent' | 'workflow' | 'other';

/**
 * Other dialects' span kinds → the semconv `gen_ai.operation.name`. OpenInference span kinds are
 * upper case (LLM, RETRIEVER, ...), OpenLLMetry's `llm.request.type` and `traceloop.span.kind` lower
 * case, Vercel AI SDK's `ai.operationId` names the SDK call (`ai.generateText.doGenerate`).
 */
const OPERATION_ALIASES: ReadonlyMap<string, string> = new Map([
  ['llm', 'chat'],
  ['completion', 'text_completion'],
  ['embedding', 'embeddings'],
  ['retriever', 'retrieval'],
  ['reranker', 'rerank'],
  ['tool', 'execute_tool'],
  ['agent', 'invoke_agent'],
  ['chain', 'invoke_workflow'],
  ['workflow', 'invoke_workflow'],
  ['task', 'invoke_workflow'],
  ['generation', 'chat'],
  ['span', 'invoke_workflow'],
  ['ai.generatetext.dogenerate', 'chat'],
  ['ai.streamtext.dostream', 'chat'],
  ['ai.generateobject.dogenerate', 'chat'],
  ['ai.streamobject.dostream', 'chat'],
  ['ai.embed.doembed', 'embeddings'],
  ['ai.embedmany.doembed', 'embeddings'],
  ['ai.toolcall', 'execute_tool'],
  ['ai.generatetext', 'invoke_workflow'],
  ['ai.streamtext', 'invoke_workflow'],
  ['ai.generateobject', 'invoke_workflow'],
  ['ai.streamobject', 'invoke_workflow'],
  ['ai.embed', 'invoke_workflow'],
  ['ai.embedmany', 'invoke_workflow'],
]);

const STAGE_OF: ReadonlyMap<string, Stage> = new Map([
  ['chat', 'llm'],
  ['text_completion', 'llm'],
  ['generate_content', 'llm'],
  ['embeddings', 'embedding'],
  ['retrieval', 'retrieval'],
  ['rerank', 'rerank'],
  ['execute_tool', 'tool'],
  ['invoke_agent', 'agent'],
  ['create_agent', 'agent'],
  ['invoke_workflow', 'workflow'],
  ['plan', 'workflow'],
]);

/**
 * The span's operation in semconv spelling, or undefined when nothing says. A span with a model or
 * token counts but no operation is a model call (`chat`), the commonest kind.
 */
export function operationOf(f: SpanFacts): string | undefined {
  const raw = factString(f, 'operation')?.toLowerCase();
  if (raw) return OPERATION_ALIASES.get(raw) ?? raw;
  if (f.requestModel || f.responseModel || f.input || f.output) return 'chat';
  return undefined;
}

export function stageOf(operation: string): Stage {
  return STAGE_OF.get(operation) ?? 'other';
}
