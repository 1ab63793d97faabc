import { RE2JS, RE2Set } from 're2js';
import type { Candidate, Detector, KeywordContext } from './detectors.ts';

/** A user pattern as written in the config. */
export interface CustomPatternSpec {
  readonly name: string;
  readonly regex: string;
  /** Capture group to redact (0, the default, is the whole match): RE2's answer to lookbehind. */
  readonly group?: number;
  /** When set, a match is redacted only with one of these words near it or in its key. */
  readonly keywords?: readonly string[];
}

/**
 * Constructs RE2 (and so re2js) cannot run in linear time and does not support. RE2JS would reject
 * them too, but with messages such as "invalid named capture: `(?<=x)`"; naming the construct tells
 * the user what to rewrite.
 */
export function unsupportedConstruct(regex: string): string | undefined {
  let inClass = false;
  for (let i = 0; i < regex.length; i++) {
    const c = regex[i];
    if (c === '\\') {
      const n = regex[i + 1] ?? '';
      if (!inClass && /[1-9]/.test(n)) return `backreference "\\${n}"`;
      if (!inClass && n === 'k' && regex[i + 2] === '<') return 'named backreference "\\k<…>"';
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      // A `]` right after `[` or `[^` is a literal member.
      if (regex[i + 1] === '^') i++;
      if (regex[i + 1] === ']') i++;
      continue;
    }
    if (c === '(' && regex[i + 1] === '?') {
      const rest = regex.slice(i + 2, i + 4);
      if (rest.startsWith('=')) return 'lookahead "(?="';
      if (rest.startsWith('!')) return 'negative lookahead "(?!"';
      if (rest === '<=') return 'lookbehind "(?<="';
      if (rest === '<!') return 'negative lookbehind "(?<!"';
      if (rest.startsWith('>')) return 'atomic group "(?>"';
    }
    if ((c === '+' || c === '*' || c === '?' || c === '}') && regex[i + 1] === '+')
      return `possessive quantifier "${c}+"`;
  }
  return undefined;
}

interface Compiled {
  readonly spec: CustomPatternSpec;
  readonly re: RE2JS;
}

/**
 * Every custom pattern, compiled once at config load with re2js (a port of RE2: automata, no
 * backtracking, time linear in the input whatever the pattern). One RE2Set pass over a value says
 * which patterns occur at all; only those are then run to locate their matches.
 */
export class CustomPatterns {
  readonly #patterns: Compiled[];
  readonly #set: RE2Set | undefined;

  private constructor(patterns: Compiled[], set: RE2Set | undefined) {
    this.#patterns = patterns;
    this.#set = set;
  }

  /** Compiles the patterns or returns one message per bad pattern, each naming it. */
  static compile(specs: readonly CustomPatternSpec[]): CustomPatterns | { index: number; message: string }[] {
    const errors: { index: number; message: string }[] = [];
    const compiled: Compiled[] = [];
    specs.forEach((spec, index) => {
      const bad = unsupportedConstruct(spec.regex);
      if (bad) {
        errors.push({
          index,
          message: `pattern "${spec.name}" uses ${bad}, which the linear-time RE2 engine does not support; rewrite it without lookaround or backreferences (use "group" to redact only part of a match)`,
        });
        return;
      }
      let re: RE2JS;
      try {
        re = RE2JS.compile(spec.regex);
      } catch (err) {
        errors.push({
          index,
          message: `pattern "${spec.name}" is not valid RE2 syntax: ${(err as Error).message}`,
        });
        return;
      }
      if (re.testExact('')) {
        errors.push({ index, message: `pattern "${spec.name}" matches the empty string` });
        return;
      }
      const group = spec.group ?? 0;
      if (group > re.groupCount()) {
        errors.push({
          index,
          message: `pattern "${spec.name}" has ${re.groupCount()} capture group(s); group ${group} does not exist`,
        });
        return;
      }
      compiled.push({ spec, re });
    });
    if (errors.length > 0) return errors;
    let set: RE2Set | undefined;
    if (compiled.length > 1) {
      set = new RE2Set();
      for (const c of compiled) set.add(c.spec.regex);
      set.compile();
    }
    return new CustomPatterns(compiled, set);
  }

  get size(): number {
    return this.#patterns.length;
  }

  /** One detector per pattern, sharing one RE2Set pass per text. */
  detectors(): Detector[] {
    let lastText: string | undefined;
    let lastHits: ReadonlySet<number> = new Set();
    const hits = (text: string): ReadonlySet<number> => {
      if (!this.#set) return new Set([0]);
      if (text !== lastText) {
        lastText = text;
        lastHits = new Set(this.#set.match(text));
      }
      return lastHits;
    };
    return this.#patterns.map((c, i): Detector => {
      const keywords = (c.spec.keywords ?? []).map((k) => k.toLowerCase());
      const context: KeywordContext | undefined =
        keywords.length > 0 ? { raise: keywords, raiseBy: 0.7, lower: [], lowerBy: 0 } : undefined;
      const base = keywords.length > 0 ? 0.3 : 1;
      const group = c.spec.group ?? 0;
      return {
        entity: c.spec.name,
        ambiguous: true,
        ...(context ? { context } : {}),
        find(text: string, out: Candidate[]) {
          if (!hits(text).has(i)) return;
          const m = c.re.matcher(text);
          let from = 0;
          while (from <= text.length && m.find(from)) {
            const s = m.start(group);
            const e = m.end(group);
            const whole = m.end();
            if (s >= 0 && e > s)
              out.push({ start: s, end: e, entity: c.spec.name, score: base, normalized: text.slice(s, e) });
            from = whole > m.start() ? whole : m.start() + 1;
          }
        },
      };
    });
  }
}
