/**
 * The mock's stand-in for a tokenizer. It only has to be deterministic and easy to recount by hand in
 * a test: a token is a run of letters/digits/underscores, or a single other non-space character.
 * "Say hello, please!" is 5 tokens: Say · hello · , · please · !
 */
const TOKEN = /[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu;

/** Number of mock tokens in `text`. */
export function countTokens(text: string): number {
  return text.match(TOKEN)?.length ?? 0;
}

/**
 * `text` cut into stream pieces, one per token, each keeping the whitespace before it, so that joining
 * the pieces gives back the text and the piece count equals `countTokens(text)`.
 */
export function tokenPieces(text: string): string[] {
  return text.match(/\s*(?:[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_])/gu) ?? [];
}

/** The first `max` tokens of `text` (with their leading whitespace). */
export function truncateTokens(text: string, max: number): string {
  return tokenPieces(text).slice(0, max).join('');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The text of a chat message's `content`: a string, or the text parts of a content array. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => (isRecord(part) && typeof part.text === 'string' ? part.text : ''))
    .filter((t) => t.length > 0)
    .join(' ');
}

/**
 * Prompt tokens of a chat request: for every message, one token for its role plus the tokens of its
 * text content and of the names and arguments of the tool calls it carries. Tool definitions are not
 * counted (real APIs do count them; the mock keeps the rule simple enough to recount by hand).
 */
export function promptTokens(messages: unknown): number {
  if (!Array.isArray(messages)) return 0;
  let total = 0;
  for (const m of messages) {
    if (!isRecord(m)) continue;
    total += 1 + countTokens(contentText(m.content));
    if (Array.isArray(m.tool_calls)) {
      for (const tc of m.tool_calls) {
        const fn = isRecord(tc) && isRecord(tc.function) ? tc.function : undefined;
        if (fn === undefined) continue;
        total += countTokens(typeof fn.name === 'string' ? fn.name : '');
        total += countTokens(typeof fn.arguments === 'string' ? fn.arguments : '');
      }
    }
  }
  return total;
}
