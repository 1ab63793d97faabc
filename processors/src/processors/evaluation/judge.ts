/** One rubric: a TRUE/FALSE question about a model call's answer. */
export interface Rubric {
  readonly name: string;
  readonly question: string;
  /** Only judge calls whose trace carried retrieved documents (e.g. groundedness). */
  readonly needsDocuments: boolean;
}

export interface JudgeSettings {
  /** OpenAI-compatible base URL ending in `/v1` (OpenAI, Azure-compatible proxies, vLLM, Ollama). */
  readonly endpoint: string;
  readonly model: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

export interface JudgeInput {
  readonly input: string;
  readonly output: string;
  readonly documents?: string;
}

export type Verdict = 'pass' | 'fail';

export interface JudgeResult {
  readonly verdict: Verdict | 'unparseable';
  readonly explanation: string;
  readonly usage: {
    readonly promptTokens: number;
    readonly completionTokens: number;
    readonly cachedTokens: number;
  };
}

/** A judge call that failed (HTTP status, timeout, network): counted, never retried into the request path. */
export class JudgeError extends Error {
  override readonly name = 'JudgeError';
  readonly reason: 'timeout' | 'http' | 'network' | 'response';
  constructor(reason: JudgeError['reason'], message: string) {
    super(message);
    this.reason = reason;
  }
}

const SYSTEM = [
  'You evaluate one answer of an AI assistant against one question about it.',
  'Reply with TRUE or FALSE on the first line, then one short sentence saying why.',
  'Judge only what is shown; content replaced by <ENTITY> markers was redacted and is not an error.',
].join(' ');

/** The judge's chat messages for one rubric. Content is delimited so the judged text cannot pose as instructions. */
export function judgeMessages(rubric: Rubric, x: JudgeInput): { role: string; content: string }[] {
  const parts = [
    `Question: ${rubric.question}`,
    '',
    '<conversation>',
    x.input,
    '</conversation>',
    '',
    '<answer>',
    x.output,
    '</answer>',
  ];
  if (x.documents !== undefined) parts.push('', '<documents>', x.documents, '</documents>');
  return [
    { role: 'system', content: SYSTEM },
    { role: 'user', content: parts.join('\n') },
  ];
}

/** TRUE/YES → pass, FALSE/NO → fail, read from the first word of the reply. */
export function parseVerdict(reply: string): { verdict: Verdict | 'unparseable'; explanation: string } {
  const trimmed = reply.trim();
  const m = /^[\s*"'`]*(true|false|yes|no)\b[\s.:,*"'`-]*/i.exec(trimmed);
  if (!m?.[1]) return { verdict: 'unparseable', explanation: trimmed.slice(0, 500) };
  const word = m[1].toLowerCase();
  return {
    verdict: word === 'true' || word === 'yes' ? 'pass' : 'fail',
    explanation: trimmed.slice(m[0].length).trim().slice(0, 500),
  };
}

interface ChatResponse {
  choices?: { message?: { content?: string | null } }[];
  usage?: {
    prompt_tokens?: number;
    completion_tokens?: number;
    prompt_tokens_details?: { cached_tokens?: number } | null;
  };
}

/** Asks the judge one rubric question; rejects with JudgeError on any failure, within the timeout. */
export async function askJudge(judge: JudgeSettings, rubric: Rubric, x: JudgeInput): Promise<JudgeResult> {
  let res: Response;
  try {
    res = await fetch(`${judge.endpoint.replace(/\/+$/, '')}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...judge.headers },
      body: JSON.stringify({
        model: judge.model,
        messages: judgeMessages(rubric, x),
        temperature: 0,
        max_tokens: 96,
      }),
      signal: AbortSignal.timeout(judge.timeoutMs),
    });
  } catch (err) {
    const e = err as Error;
    if (e.name === 'TimeoutError' || e.name === 'AbortError')
      throw new JudgeError('timeout', `judge did not answer within ${judge.timeoutMs} ms`);
    throw new JudgeError('network', e.message);
  }
  let body: ChatResponse;
  try {
    body = (await res.json()) as ChatResponse;
  } catch (err) {
    if ((err as Error).name === 'TimeoutError')
      throw new JudgeError('timeout', `judge did not answer within ${judge.timeoutMs} ms`);
    throw new JudgeError('response', `judge answered ${res.status} with a body that is not JSON`);
  }
  if (!res.ok) throw new JudgeError('http', `judge answered ${res.status}`);
  const content = body.choices?.[0]?.message?.content;
  if (typeof content !== 'string') throw new JudgeError('response', 'judge answer has no message content');
  return {
    ...parseVerdict(content),
    usage: {
      promptTokens: body.usage?.prompt_tokens ?? 0,
      completionTokens: body.usage?.completion_tokens ?? 0,
      cachedTokens: body.usage?.prompt_tokens_details?.cached_tokens ?? 0,
    },
  };
}
