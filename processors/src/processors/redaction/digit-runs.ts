/**
 * Runs of digit groups joined by single separators ("4111 1111 1111 1111", "(415) 555-2671"), the
 * input of the card and phone detectors, read in bounded pieces so that memory stays constant
 * however long a run is: a detector only looks at windows of at most {@link MAX_WINDOW_GROUPS}
 * groups, so a piece owns the windows starting at its first {@link PIECE_GROUPS} groups and carries
 * enough groups after them to complete each one. Without pieces, an adversarial run (`1-1-1-…`)
 * would hold arrays as long as the text, a large-object allocation whose cost steps up with size.
 */

/** Card windows span at most 19 digits, phone windows 15; a group has at least one digit. */
export const MAX_WINDOW_GROUPS = 19;
const PIECE_GROUPS = 256;

/**
 * A stretch of one run. Group `k` is `[starts[k], ends[k])`; `dotAfter[k]` tells whether the
 * separator after it holds a `.`.
 */
export interface RunPiece {
  /** Windows start at groups `[0, own)`; the groups after them only complete those windows. */
  readonly own: number;
  /** Group 0 is the first group of its run (where `+` or `(` may precede the run). */
  readonly runFirst: boolean;
  /** Where the run starts: its first digit, or the `(` before it. */
  readonly runStart: number;
  readonly starts: readonly number[];
  readonly ends: readonly number[];
  readonly dotAfter: readonly boolean[];
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isWord(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}
function at(text: string, i: number): number {
  return i < 0 || i >= text.length ? 32 : text.charCodeAt(i);
}

/**
 * Finds runs of digit groups joined by single separators from `seps`. A run starts where the
 * previous character is not a word character, `.` or `-` (so decimals, versions and ids are not
 * entered in the middle) and each character is visited a bounded number of times. Runs with fewer
 * than `minDigits` digits hold no window a detector wants and are skipped.
 */
export function* digitRunPieces(
  text: string,
  seps: string,
  allowParens: boolean,
  minDigits: number,
): Generator<RunPiece> {
  const re = /\d/g;
  // `test` moves lastIndex past the digit found without building a match object.
  while (re.test(text)) {
    let i = re.lastIndex - 1;
    const prev = at(text, i - 1);
    let start = i;
    // An opening parenthesis belongs to the number ("(415) 555-2671") unless it follows a word ("f(415").
    if (allowParens && prev === 40 /* ( */ && !isWord(at(text, i - 2))) start = i - 1;
    const before = at(text, start - 1);
    if (isWord(before) || before === 46 || before === 45) {
      // Mid-token: skip to the end of this alphanumeric stretch.
      while (i < text.length && (isWord(text.charCodeAt(i)) || text.charCodeAt(i) === 46)) i++;
      re.lastIndex = i;
      continue;
    }
    // Fresh small arrays per run: cheaper than emptying reused ones (a length change is a runtime call).
    let starts: number[] = [];
    let ends: number[] = [];
    let dotAfter: boolean[] = [];
    let digitCount = 0;
    let runFirst = true;
    // A `)` only continues a run that opened a `(`, so "27)2021-06-17" does not join a timestamp.
    let open = start < i;
    for (;;) {
      const gs = i;
      while (i < text.length && isDigit(text.charCodeAt(i))) i++;
      starts.push(gs);
      ends.push(i);
      digitCount += i - gs;
      // One separator (optionally with a closing/opening parenthesis around it) then a digit continues the run.
      let j = i;
      let closes = false;
      let opens = false;
      let dot = false;
      if (allowParens && open && at(text, j) === 41 /* ) */) {
        j++;
        closes = true;
      }
      if (j < text.length && seps.includes(text[j] ?? '\u0000')) {
        dot = text.charCodeAt(j) === 46;
        j++;
      }
      if (allowParens && at(text, j) === 40 /* ( */) {
        j++;
        opens = true;
      }
      if (j > i && isDigit(at(text, j))) {
        dotAfter.push(dot);
        if (closes) open = false;
        if (opens) open = true;
        i = j;
        if (starts.length >= PIECE_GROUPS + MAX_WINDOW_GROUPS) {
          // Every window starting in the first PIECE_GROUPS groups is complete, and none of
          // those groups can be the run's last (only the last can be dropped, below).
          yield { own: PIECE_GROUPS, runFirst, runStart: start, starts, ends, dotAfter };
          starts = starts.slice(PIECE_GROUPS);
          ends = ends.slice(PIECE_GROUPS);
          dotAfter = dotAfter.slice(PIECE_GROUPS);
          runFirst = false;
        }
        continue;
      }
      break;
    }
    const after = at(text, i);
    re.lastIndex = i;
    // A last group glued to letters or continued as a decimal is not part of an entity: drop it,
    // keep the groups before it ("415 555 2671 2026-09-23T13" still holds a phone number).
    if (isWord(after) || ((after === 46 || after === 45) && isDigit(at(text, i + 1)))) {
      digitCount -= (ends.pop() ?? 0) - (starts.pop() ?? 0);
      dotAfter.pop();
      while (i < text.length && (isWord(text.charCodeAt(i)) || text.charCodeAt(i) === 46)) i++;
      re.lastIndex = i;
      if (starts.length === 0) continue;
    }
    if (runFirst && digitCount < minDigits) continue;
    yield { own: starts.length, runFirst, runStart: start, starts, ends, dotAfter };
  }
}

/**
 * Digit offsets of a piece's group boundaries (`off[k]`: digits before group k) and Luhn sums at
 * them, so that any group-aligned window is checked in O(1): one pass over the piece's digits, no
 * array longer than the piece's groups.
 */
export class PieceDigits {
  off: number[] = [];
  // Digit sums from the piece's first digit with even (resp. odd) positions doubled.
  #evenDoubled: number[] = [];
  #oddDoubled: number[] = [];
  #text = '';
  #piece: RunPiece | undefined;

  /** Reads `piece` (replacing the previous one); returns its digit count. */
  load(text: string, piece: RunPiece, luhn: boolean): number {
    this.#text = text;
    this.#piece = piece;
    const { starts, ends } = piece;
    const off = [0];
    this.off = off;
    for (let k = 0; k < starts.length; k++) off.push((off[k] ?? 0) + (ends[k] ?? 0) - (starts[k] ?? 0));
    if (luhn) {
      const ev = [0];
      const od = [0];
      this.#evenDoubled = ev;
      this.#oddDoubled = od;
      let e = 0;
      let o = 0;
      let pos = 0;
      for (let k = 0; k < starts.length; k++) {
        for (let i = starts[k] ?? 0; i < (ends[k] ?? 0); i++, pos++) {
          const d = text.charCodeAt(i) - 48;
          const dd = d * 2 > 9 ? d * 2 - 9 : d * 2;
          // Only sums modulo 10 matter; keeping them small keeps them small integers.
          e = (e + (pos % 2 === 0 ? dd : d)) % 10;
          o = (o + (pos % 2 === 1 ? dd : d)) % 10;
        }
        ev.push(e);
        od.push(o);
      }
    }
    return off[off.length - 1] ?? 0;
  }

  /**
   * Luhn over groups [g, e): every second digit counting from the right is doubled, those at
   * positions p with (b - 1 - p) odd, where b is the window's end.
   */
  luhn(g: number, e: number): boolean {
    const b = this.off[e] ?? 0;
    const sums = (b - 1) % 2 === 0 ? this.#oddDoubled : this.#evenDoubled;
    return ((sums[e] ?? 0) - (sums[g] ?? 0)) % 10 === 0;
  }

  /** The digits of groups [g, e) (short: windows are at most 19 digits). */
  digits(g: number, e: number): string {
    const p = this.#piece;
    if (!p) return '';
    let d = '';
    for (let k = g; k < e; k++) d += this.#text.slice(p.starts[k] ?? 0, p.ends[k] ?? 0);
    return d;
  }
}
