/**
 * Helpers for rewriting string literals inside an already validated JSON text without decoding and
 * re-encoding them: a large prompt leaf is then never copied, only sliced (V8 keeps a slice of a long
 * string as a view, and a rope of views until the exporter encodes it once).
 */

/**
 * The offset just past the closing quote of the string literal whose opening quote is at `open`, or
 * -1 when it is not closed. A quote is escaped when an odd run of backslashes precedes it; each
 * backslash is counted once (it precedes at most one quote), so the cost is linear in the literal.
 */
export function stringLiteralEnd(text: string, open: number): number {
  let q = text.indexOf('"', open + 1);
  while (q !== -1) {
    let b = q - 1;
    while (b > open && text.charCodeAt(b) === 92 /* \ */) b--;
    if ((q - 1 - b) % 2 === 0) return q + 1;
    q = text.indexOf('"', q + 1);
  }
  return -1;
}

/**
 * The next occurrence of something at or after a position that never decreases, remembered, so a
 * text is searched once in all, not once per literal (a text with no backslash is searched once).
 */
export class ForwardSearch {
  readonly #find: (from: number) => number;
  #next = -1;

  /** `find(from)`: the first occurrence at or after `from`, or -1. */
  constructor(find: (from: number) => number) {
    this.#find = find;
  }

  /** Whether an occurrence starts in [from, to); `from` must not decrease between calls. */
  within(from: number, to: number): boolean {
    if (this.#next < from) {
      const at = this.#find(from);
      this.#next = at === -1 ? Number.POSITIVE_INFINITY : at;
    }
    return this.#next < to;
  }
}

/** Backslashes of `text`, for {@link ForwardSearch}. */
export function backslashes(text: string): ForwardSearch {
  return new ForwardSearch((from) => text.indexOf('\\', from));
}

/**
 * Maps offsets in the decoded value of the string literal whose content starts at `from` (just
 * after its opening quote) to offsets in `text`. Every escape decodes to one UTF-16 unit (`\n`,
 * `\"`, `\uD83D`), so decoded boundaries never fall inside one. `offsets` must be ascending; one
 * pass over the literal whatever their number.
 */
export function rawOffsets(text: string, from: number, offsets: readonly number[]): number[] {
  const out: number[] = [];
  let p = from;
  let d = 0;
  for (const want of offsets) {
    while (d < want) {
      p += text.charCodeAt(p) !== 92 ? 1 : text.charCodeAt(p + 1) === 117 /* u */ ? 6 : 2;
      d++;
    }
    out.push(p);
  }
  return out;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: raw control characters are what JSON forbids in strings
const CONTROL = /[\u0000-\u001f]/g;

/** Raw control characters of `text` (never valid inside a JSON string), for {@link ForwardSearch}. */
function controls(text: string): ForwardSearch {
  return new ForwardSearch((from) => {
    CONTROL.lastIndex = from;
    return CONTROL.exec(text)?.index ?? -1;
  });
}

/**
 * Whether `text` is one JSON value (RFC 8259, exactly what JSON.parse accepts) without building it:
 * JSON.parse would copy every string, and a copy of a long prompt is a large-object allocation per
 * request. Structure is checked character by character outside strings; string bodies are skipped
 * with indexOf, their escapes checked one by one and raw control characters found by one regex
 * search that only moves forward. Linear; the only allocation is the nesting stack.
 */
export function isJson(text: string): boolean {
  const n = text.length;
  const stack: boolean[] = []; // true: object
  const esc = { control: controls(text), backslash: backslashes(text) };
  let i = skipSpace(text, 0);
  // What may come next: a value, or (just after an opening bracket) its close.
  let wantValue = true;
  let mayClose = false;
  while (i < n) {
    const c = text.charCodeAt(i);
    const top = stack[stack.length - 1];
    if (wantValue) {
      const closeOk = mayClose;
      mayClose = false;
      if (closeOk && c === (top ? 125 : 93)) {
        stack.pop();
        wantValue = false;
        i++;
      } else if (c === 123 /* { */ || c === 91 /* [ */) {
        stack.push(c === 123);
        mayClose = true;
        i++;
        if (c === 123) {
          i = skipSpace(text, i);
          if (text.charCodeAt(i) === 125) continue;
          i = objectKey(text, i, esc);
          if (i < 0) return false;
          mayClose = false;
        }
      } else if (c === 34 /* " */) {
        i = stringEnd(text, i, esc);
        if (i < 0) return false;
        wantValue = false;
      } else if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
        i = numberEnd(text, i);
        if (i < 0) return false;
        wantValue = false;
      } else if (text.startsWith('true', i) || text.startsWith('null', i)) {
        i += 4;
        wantValue = false;
      } else if (text.startsWith('false', i)) {
        i += 5;
        wantValue = false;
      } else return false;
    } else {
      if (top === undefined) return false; // something after the top-level value
      if (c === 44 /* , */) {
        i++;
        if (top) {
          i = objectKey(text, skipSpace(text, i), esc);
          if (i < 0) return false;
        }
        wantValue = true;
      } else if (c === (top ? 125 : 93)) {
        stack.pop();
        i++;
      } else return false;
    }
    i = skipSpace(text, i);
  }
  return !wantValue && stack.length === 0;
}

interface Escapes {
  readonly control: ForwardSearch;
  readonly backslash: ForwardSearch;
}

/** After an object's `{` or `,`: a string key and its colon; the offset after them, or -1. */
function objectKey(text: string, i: number, esc: Escapes): number {
  if (text.charCodeAt(i) !== 34) return -1;
  const e = stringEnd(text, i, esc);
  if (e < 0) return -1;
  const colon = skipSpace(text, e);
  return text.charCodeAt(colon) === 58 ? colon + 1 : -1;
}

/** The end of a valid string literal opening at `open`, or -1. */
function stringEnd(text: string, open: number, esc: Escapes): number {
  const end = stringLiteralEnd(text, open);
  if (end < 0 || esc.control.within(open, end)) return -1;
  if (!esc.backslash.within(open, end)) return end;
  // A backslash and the character after it are one escape: the next search starts past both.
  for (let b = text.indexOf('\\', open); b !== -1 && b < end - 1; b = text.indexOf('\\', b + 2)) {
    if (!validEscape(text, b)) return -1;
  }
  return end;
}

/** `\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t` or `\u` and four hex digits, at `b`. */
function validEscape(text: string, b: number): boolean {
  const c = text.charCodeAt(b + 1);
  if (c === 117 /* u */) {
    for (let k = b + 2; k < b + 6; k++) if (!isHex(text.charCodeAt(k))) return false;
    return true;
  }
  // " \ / b f n r t
  return c === 34 || c === 92 || c === 47 || c === 98 || c === 102 || c === 110 || c === 114 || c === 116;
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** The end of a valid number starting at `i` (`-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`), or -1. */
function numberEnd(text: string, i: number): number {
  const digits = (from: number) => {
    let k = from;
    while (isDigit(text.charCodeAt(k))) k++;
    return k;
  };
  if (text.charCodeAt(i) === 45) i++;
  if (text.charCodeAt(i) === 48) i++;
  else if (isDigit(text.charCodeAt(i))) i = digits(i);
  else return -1;
  if (text.charCodeAt(i) === 46 /* . */) {
    const e = digits(i + 1);
    if (e === i + 1) return -1;
    i = e;
  }
  const x = text.charCodeAt(i);
  if (x === 101 || x === 69 /* e E */) {
    i++;
    const s = text.charCodeAt(i);
    if (s === 43 || s === 45) i++;
    const e = digits(i);
    if (e === i) return -1;
    i = e;
  }
  return i;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function skipSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return i;
    i++;
  }
}

/** A token as it is written inside a JSON string literal. */
export function jsonEscaped(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}
