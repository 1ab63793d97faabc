/**
 * Attribute keys: glob lists (allowed, identifier, secret keys), structural keys, and the bounded
 * `key` label of the redaction counter.
 */

/**
 * `*` matches any run of characters (dots included); everything else is literal and
 * case-insensitive. The classic two-pointer wildcard match: O(key × glob) with no backtracking
 * blow-up, whatever the number of stars.
 */
export function globMatch(glob: string, key: string): boolean {
  const g = glob.toLowerCase();
  const k = key.toLowerCase();
  let gi = 0;
  let ki = 0;
  let star = -1;
  let mark = 0;
  while (ki < k.length) {
    if (gi < g.length && g[gi] !== '*' && g[gi] === k[ki]) {
      gi++;
      ki++;
    } else if (gi < g.length && g[gi] === '*') {
      star = gi++;
      mark = ki;
    } else if (star !== -1) {
      gi = star + 1;
      ki = ++mark;
    } else {
      return false;
    }
  }
  while (gi < g.length && g[gi] === '*') gi++;
  return gi === g.length;
}

export class GlobList {
  readonly #exact = new Set<string>();
  readonly #globs: string[] = [];

  constructor(globs: readonly string[]) {
    for (const g of globs) {
      if (g.includes('*')) this.#globs.push(g);
      else this.#exact.add(g.toLowerCase());
    }
  }

  matches(key: string): boolean {
    if (this.#exact.has(key.toLowerCase())) return true;
    for (const g of this.#globs) if (globMatch(g, key)) return true;
    return false;
  }
}

/**
 * Keys whose values are identifiers. Their values are only checked for self-identifying entities
 * (an email, a key with a vendor prefix, a JWT), never for digit shapes, so ids are not redacted
 * by accident. The config's `id_keys` adds to this list.
 */
export const DEFAULT_ID_KEYS: readonly string[] = [
  'id',
  '*.id',
  '*_id',
  '*.uuid',
  'trace_id',
  'span_id',
  'traceid',
  'spanid',
  'gen_ai.response.id',
  'gen_ai.conversation.id',
  'gen_ai.tool.call.id',
  'gen_ai.agent.id',
  'gen_ai.data_source.id',
  'session.id',
  'user.id',
  'tool_call.id',
  'tool_call_id',
  'call_id',
  'http.request.header.x-request-id',
];

/**
 * Keys whose whole value is a secret, as the Collector's `blocked_key_patterns`: the value is
 * replaced without looking at it (entity `secret`). The config's `secret_keys` adds to this list.
 */
export const DEFAULT_SECRET_KEYS: readonly string[] = [
  '*password*',
  '*passwd*',
  '*passphrase*',
  '*secret*',
  '*api_key*',
  '*apikey*',
  '*api-key*',
  '*access_key*',
  '*access_token*',
  '*auth_token*',
  '*refresh_token*',
  '*id_token*',
  '*session_token*',
  '*private_key*',
  '*credential*',
  '*authorization*',
  '*cookie*',
  '*.token',
  '*_token',
  'token',
];

/**
 * Keys whose values are protocol vocabulary, not content (`role: user`, `finish_reason: stop`,
 * `type: text`): never scanned, in JSON, in key-value lists, and as the last segment of flattened
 * attribute keys (`llm.input_messages.0.message.role`, `gen_ai.completion.0.finish_reason`).
 */
export const STRUCTURAL_KEYS: ReadonlySet<string> = new Set([
  'role',
  'finish_reason',
  'finish_reasons',
  'stop_reason',
  'type',
  'mime_type',
  'modality',
  'object',
  'gen_ai.response.finish_reasons',
  'gen_ai.operation.name',
  'gen_ai.provider.name',
  'gen_ai.system',
  'gen_ai.output.type',
  'openinference.span.kind',
  'llm.request.type',
]);

export function isStructuralKey(key: string): boolean {
  if (STRUCTURAL_KEYS.has(key)) return true;
  const dot = key.lastIndexOf('.');
  return dot !== -1 && STRUCTURAL_KEYS.has(key.slice(dot + 1));
}

/**
 * GenAI content attributes (OTel GenAI, OpenLLMetry, OpenInference, Vercel AI): each gets its own
 * value of the `key` label; every other key is counted as `other`, which bounds the label.
 * Indexed segments are written `*` (`gen_ai.prompt.0.content` → `gen_ai.prompt.*.content`).
 */
export const DEFAULT_METRIC_KEYS: readonly string[] = [
  'gen_ai.input.messages',
  'gen_ai.output.messages',
  'gen_ai.system_instructions',
  'gen_ai.tool.definitions',
  'gen_ai.tool.call.arguments',
  'gen_ai.tool.call.result',
  'gen_ai.retrieval.documents',
  'gen_ai.prompt',
  'gen_ai.completion',
  'gen_ai.prompt.*.content',
  'gen_ai.completion.*.content',
  'gen_ai.completion.*.tool_calls.*.arguments',
  'llm.input_messages.*.message.content',
  'llm.output_messages.*.message.content',
  'llm.input_messages.*.message.contents.*.message_content.text',
  'llm.output_messages.*.message.contents.*.message_content.text',
  'llm.output_messages.*.message.tool_calls.*.tool_call.function.arguments',
  'input.value',
  'output.value',
  'tool.parameters',
  'tool_call.function.arguments',
  'traceloop.entity.input',
  'traceloop.entity.output',
  'ai.prompt',
  'ai.prompt.messages',
  'ai.response.text',
  'ai.response.toolCalls',
];

/** Field locations that are not attributes, as they appear in the `key` label. */
export const LOCATION_KEYS = [
  'span.name',
  'span.status.message',
  'span.event.name',
  'log.body',
  'log.event_name',
] as const;

/** `gen_ai.prompt.3.content` → `gen_ai.prompt.*.content`. */
export function indexless(key: string): string {
  return key.replace(/(^|\.)\d{1,9}(?=\.|$)/g, '$1*');
}
