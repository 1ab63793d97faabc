/**
 * Globs over attribute keys and metric names: `*` matches any run of characters (dots included),
 * everything else is literal and case-sensitive (OTLP keys and names are). Matching is the classic
 * two-pointer wildcard match, O(text × glob) with no backtracking blow-up whatever the stars.
 */
export function globMatch(glob: string, text: string): boolean {
  let gi = 0;
  let ti = 0;
  let star = -1;
  let mark = 0;
  while (ti < text.length) {
    const g = glob.charCodeAt(gi);
    if (gi < glob.length && g !== 42 && g === text.charCodeAt(ti)) {
      gi++;
      ti++;
    } else if (gi < glob.length && g === 42) {
      star = gi++;
      mark = ti;
    } else if (star !== -1) {
      gi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (gi < glob.length && glob.charCodeAt(gi) === 42) gi++;
  return gi === glob.length;
}

/** Results remembered per text; cleared when full, so a storm of distinct keys cannot grow it. */
const MEMO_SIZE = 4096;

/**
 * A set of globs, compiled once: exact names in a Set, `prefix*` as prefixes, the rest matched with
 * {@link globMatch}; answers are memoised (bounded), since the same few keys repeat on every point.
 */
export class GlobSet {
  readonly #exact = new Set<string>();
  readonly #prefixes: string[] = [];
  readonly #globs: string[] = [];
  readonly #memo = new Map<string, boolean>();
  readonly size: number;

  constructor(globs: readonly string[]) {
    for (const g of globs) {
      const star = g.indexOf('*');
      if (star === -1) this.#exact.add(g);
      else if (star === g.length - 1) this.#prefixes.push(g.slice(0, -1));
      else this.#globs.push(g);
    }
    this.size = globs.length;
  }

  matches(text: string): boolean {
    if (this.#exact.has(text)) return true;
    if (this.#prefixes.length === 0 && this.#globs.length === 0) return false;
    const known = this.#memo.get(text);
    if (known !== undefined) return known;
    let m = false;
    for (const p of this.#prefixes) {
      if (text.startsWith(p)) {
        m = true;
        break;
      }
    }
    if (!m) {
      for (const g of this.#globs) {
        if (globMatch(g, text)) {
          m = true;
          break;
        }
      }
    }
    if (this.#memo.size >= MEMO_SIZE) this.#memo.clear();
    this.#memo.set(text, m);
    return m;
  }
}

/**
 * An ordered list of (glob → value) rules where the first match wins, e.g. per-metric limits. Meant
 * for lookups that are cached by the caller (once per metric name), not for every data point.
 */
export class GlobRules<T> {
  readonly #rules: readonly { readonly glob: string; readonly value: T }[];

  constructor(rules: readonly { readonly glob: string; readonly value: T }[]) {
    this.#rules = rules;
  }

  /** The value of the first rule whose glob matches, or undefined. */
  lookup(text: string): T | undefined {
    for (const r of this.#rules) if (globMatch(r.glob, text)) return r.value;
    return undefined;
  }
}
