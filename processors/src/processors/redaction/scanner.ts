import type { RE2JS } from 're2js';
import { type Candidate, type Detector, hasKeyword } from './detectors.ts';
import { tokenPattern } from './entities.ts';

/** A region of a text to replace, after scoring, allow-lists, holdouts and overlap merging. */
export interface Finding {
  start: number;
  end: number;
  /** The entity whose token and action apply (the longest, then highest-priority, of merged overlaps). */
  entity: string;
  normalized: string;
  /** Every entity merged into this region (for counting a drop anywhere in it). */
  entities: string[];
}

export interface ScannerOptions {
  readonly detectors: readonly Detector[];
  /** A candidate is redacted when its score, after keyword context, reaches this. */
  readonly minScore: number;
  /** Characters before a candidate searched for keywords (Datadog's default proximity is 30). */
  readonly contextWindow: number;
  /** Matched texts never redacted (exact; case-insensitive). */
  readonly allowedValues: ReadonlySet<string>;
  /** Matched texts never redacted (RE2, whole match). */
  readonly allowedValuePatterns: readonly RE2JS[];
}

// Identifier shapes that ambiguous detectors must never touch. Bounded quantifiers; they only
// ever run over a small window around a candidate.
const IDENTIFIERS = [
  /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, // UUID
  // Hex ids (W3C trace/span ids, digests) with a letter: lower-case of any length, upper-case only at
  // digest lengths, since an upper-case run such as a Belgian or German IBAN can be all hex too.
  /(?<![0-9A-Za-z])(?=[0-9a-f]{0,63}[a-f])[0-9a-f]{16,64}(?![0-9A-Za-z])/g,
  /(?<![0-9A-Za-z])(?=[0-9A-F]{0,63}[A-F])(?:[0-9A-F]{64}|[0-9A-F]{40}|[0-9A-F]{32})(?![0-9A-Za-z])/g,
  /\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?/g, // ISO 8601
  /(?<![0-9A-Za-z])1[3-9]\d{8}(?:\d{3}){0,3}(?![0-9A-Za-z])/g, // Unix time in s, ms, µs, ns (2011–2033)
];

/**
 * Every identifier shape above contains at least 10 consecutive characters of `[0-9A-Fa-f-]` (a UUID,
 * a hex id, the date of a timestamp, a Unix time), so a window without such a run holds none: most
 * candidates in prose ("card 4111 1111 1111 1111") are cleared by this one pass, without the regexes.
 */
const MIN_IDENTIFIER_RUN = 10;

function mayHoldIdentifier(text: string, from: number, to: number): boolean {
  let run = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    const idChar = (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102) || c === 45;
    run = idChar ? run + 1 : 0;
    if (run >= MIN_IDENTIFIER_RUN) return true;
  }
  return false;
}

function overlapsIdentifier(text: string, c: Candidate): boolean {
  const from = Math.max(0, c.start - 72);
  const to = Math.min(text.length, c.end + 72);
  if (!mayHoldIdentifier(text, from, to)) return false;
  const window = text.slice(from, to);
  for (const re of IDENTIFIERS) {
    re.lastIndex = 0;
    for (const m of window.matchAll(re)) {
      const s = from + m.index;
      const e = s + m[0].length;
      if (s < c.end && e > c.start) return true;
    }
  }
  return false;
}

/** Spans of tokens this processor wrote earlier: never redacted again (idempotence). */
function tokenSpans(text: string, pattern: RegExp): [number, number][] {
  if (!text.includes('<')) return [];
  const spans: [number, number][] = [];
  for (const m of text.matchAll(pattern)) spans.push([m.index, m.index + m[0].length]);
  return spans;
}

/**
 * Runs the selected detectors over one text and decides what to redact. Left to right, so the
 * keyword window of a candidate sees the text as it will read after earlier redactions (with
 * every token blanked): a second pass over the output then sees the same context and makes the
 * same decisions.
 */
export class Scanner {
  readonly #opts: ScannerOptions;
  readonly #priority = new Map<string, number>();
  readonly #tokens: RegExp;
  readonly #byEntity = new Map<string, Detector>();
  /** The detectors that run on identifier keys: self-identifying ones only. */
  readonly #forIds: readonly Detector[];

  constructor(opts: ScannerOptions) {
    this.#opts = opts;
    this.#tokens = tokenPattern([...new Set(opts.detectors.map((d) => d.entity))]);
    opts.detectors.forEach((d, i) => {
      if (!this.#priority.has(d.entity)) this.#priority.set(d.entity, i);
      if (!this.#byEntity.has(d.entity)) this.#byEntity.set(d.entity, d);
    });
    this.#forIds = opts.detectors.filter((d) => !d.ambiguous);
  }

  /**
   * @param key the attribute or JSON key the text is the value of (keyword context), if any.
   * @param idKey the key holds identifiers: ambiguous detectors are skipped.
   */
  scan(text: string, key: string | undefined, idKey: boolean): Finding[] {
    const cands: Candidate[] = [];
    for (const d of idKey ? this.#forIds : this.#opts.detectors) d.find(text, cands);
    if (cands.length === 0) return [];
    cands.sort((a, b) => a.start - b.start || b.end - a.end);

    const tokens = tokenSpans(text, this.#tokens);
    const keyCtx = key ? `${key.toLowerCase()} ` : '';
    const W = this.#opts.contextWindow;
    const out: Finding[] = [];
    // The text as it will read, for keyword windows: the last W characters before the current
    // position, with each earlier redaction and each token already in the text read as one space.
    // A second pass over the output then sees exactly the same windows (idempotence).
    let tail = '';
    let tailEnd = 0;
    // Tokens starting before the current position; positions only grow (candidates are sorted),
    // so this moves forward once over all tokens instead of searching back from the last one.
    let before = 0;
    const advance = (to: number) => {
      if (to <= tailEnd) return;
      while (before < tokens.length && (tokens[before]?.[0] ?? 0) < to) before++;
      let collected = '';
      let pos = to;
      let t = before - 1;
      while (pos > tailEnd && collected.length < W) {
        const tok = tokens[t];
        if (tok && tok[1] >= pos && tok[0] < pos) {
          collected = ` ${collected}`;
          pos = Math.max(tok[0], tailEnd);
          t--;
        } else {
          // Plain text back to the previous token, the part already read, or as much as is needed.
          const from = Math.max(tailEnd, tok ? tok[1] : 0, pos - (W - collected.length));
          collected = text.slice(from, pos) + collected;
          pos = from;
        }
      }
      tail = collected.length >= W ? collected : (tail + collected).slice(-W);
      tailEnd = to;
    };
    let ti = 0;
    const overlapsToken = (c: Candidate) => {
      while (ti < tokens.length && (tokens[ti]?.[1] ?? 0) <= c.start) ti++;
      for (let k = ti; k < tokens.length; k++) {
        const tok = tokens[k];
        if (!tok || tok[0] >= c.end) return false;
        if (tok[1] > c.start) return true;
      }
      return false;
    };

    for (const c of cands) {
      if (overlapsToken(c)) continue;
      const d = this.#byEntity.get(c.entity);
      let score = c.score;
      if (d?.context && score < 1) {
        const last = out[out.length - 1];
        if (last && c.start < last.end) {
          // Overlaps a redaction: its context is what precedes that redaction.
        } else advance(c.start);
        const ctx = keyCtx + tail.toLowerCase();
        if (d.context.raise.length > 0 && hasKeyword(ctx, d.context.raise)) score += d.context.raiseBy;
        if (d.context.lower.length > 0 && hasKeyword(ctx, d.context.lower)) score -= d.context.lowerBy;
      }
      if (score < this.#opts.minScore) continue;
      const matched = text.slice(c.start, c.end);
      if (this.#allowed(matched)) continue;
      if (d?.ambiguous && overlapsIdentifier(text, c)) continue;

      const last = out[out.length - 1];
      if (last && c.start < last.end) {
        // Overlapping detections merge into one region (fail closed: the union is redacted).
        const lastLen = last.end - last.start;
        const len = c.end - c.start;
        const better =
          len > lastLen ||
          (len === lastLen && (this.#priority.get(c.entity) ?? 99) < (this.#priority.get(last.entity) ?? 99));
        if (better) last.entity = c.entity;
        if (!last.entities.includes(c.entity)) last.entities.push(c.entity);
        const extended = c.end > last.end;
        if (extended) last.end = c.end;
        if (better || extended) {
          // The region is no longer exactly one candidate's: pseudonymise its raw text.
          last.normalized =
            last.start === c.start && last.end === c.end ? c.normalized : text.slice(last.start, last.end);
        }
      } else {
        advance(c.start);
        out.push({
          start: c.start,
          end: c.end,
          entity: c.entity,
          normalized: c.normalized,
          entities: [c.entity],
        });
      }
      // The redacted region reads as one blank in later keyword windows, as its token will.
      const f = out[out.length - 1];
      if (f && f.end > tailEnd) {
        if (tailEnd <= f.start) tail = `${tail} `.slice(-W);
        tailEnd = f.end;
      }
    }
    return out;
  }

  #allowed(matched: string): boolean {
    if (this.#opts.allowedValues.size > 0 && this.#opts.allowedValues.has(matched.toLowerCase())) return true;
    for (const re of this.#opts.allowedValuePatterns) if (re.testExact(matched)) return true;
    return false;
  }
}
