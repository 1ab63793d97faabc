import { digitRunPieces, PieceDigits, type RunPiece } from './digit-runs.ts';
import type { BuiltinEntity } from './entities.ts';
import {
  allSameDigit,
  cardSchemeKnown,
  countryCodeValid,
  IBAN_LENGTHS,
  ibanValid,
  ipv4Valid,
  ipv6Valid,
  nanpValid,
  ssnValid,
} from './validators.ts';

/** A possible entity in a text: UTF-16 offsets, a confidence before context, and its canonical form. */
export interface Candidate {
  readonly start: number;
  readonly end: number;
  readonly entity: string;
  readonly score: number;
  /** Canonical form pseudonyms are computed from, so `4111 1111…` and `4111-1111…` correlate. */
  readonly normalized: string;
}

/** Words that, found near a candidate (or in its key), raise or lower its confidence. */
export interface KeywordContext {
  readonly raise: readonly string[];
  readonly raiseBy: number;
  readonly lower: readonly string[];
  readonly lowerBy: number;
}

export interface Detector {
  readonly entity: string;
  /**
   * Evidence from shape alone (digit runs, dotted quads, user patterns). Ambiguous detectors never
   * run on identifier keys, and their candidates are dropped where they overlap an identifier
   * (UUID, hex id, timestamp). Self-identifying shapes (an email, `sk-…`, `eyJ…`) are not ambiguous.
   */
  readonly ambiguous: boolean;
  readonly context?: KeywordContext;
  /** Appends candidates to `out`. Must be linear in `text.length`. */
  find(text: string, out: Candidate[]): void;
}

/**
 * Whole-word keyword search in a short, lower-cased context. A keyword must start at a word
 * boundary; it must end at one too unless it is five letters or more, so `phone` matches in
 * `phonenumber` and `phone_number` but `tel` does not match in `telemetry`.
 */
export function hasKeyword(context: string, keywords: readonly string[]): boolean {
  for (const kw of keywords) {
    let i = context.indexOf(kw);
    while (i !== -1) {
      const before = i === 0 ? 32 : context.charCodeAt(i - 1);
      const after = i + kw.length >= context.length ? 32 : context.charCodeAt(i + kw.length);
      if (!isAlnum(before) && (kw.length >= 5 || !isLetter(after))) return true;
      i = context.indexOf(kw, i + 1);
    }
  }
  return false;
}

// ---- character classes (ASCII; anything else is a boundary) -----------------------------------------

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
function isAlnum(c: number): boolean {
  return isDigit(c) || isLetter(c);
}
function isWord(c: number): boolean {
  return isAlnum(c) || c === 95;
}
function isHex(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}
/** Characters of a token-like secret: base64url. */
function isTokenChar(c: number): boolean {
  return isWord(c) || c === 45;
}
function at(text: string, i: number): number {
  return i < 0 || i >= text.length ? 32 : text.charCodeAt(i);
}

// ---- email ---------------------------------------------------------------------------------------------

const EMAIL_LOCAL = (c: number) => isAlnum(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45; // . _ % + -
const EMAIL_DOMAIN = (c: number) => isAlnum(c) || c === 46 || c === 45;
/** TLDs that are far more often file extensions (`icon@2x.png`): such "emails" need a keyword. */
const FILE_EXTENSIONS = new Set(
  'png jpg jpeg gif svg webp ico bmp tif tiff css js mjs cjs ts tsx jsx map json yaml yml xml txt log lock py rb go rs java class jar so dll exe zip gz tar whl'.split(
    ' ',
  ),
);

/**
 * Whether the "local part" starting at `s` is really the password of `scheme://user:password@host`
 * (left to the url_password detector, which keeps the user and host readable).
 */
function urlPassword(text: string, s: number): boolean {
  if (at(text, s - 1) !== 58 /* : */) return false;
  for (let i = s - 2; i >= 0 && s - i < 256; i--) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 34 || c === 39 || c === 64 /* @ */) return false;
    if (c === 47 && text.charCodeAt(i - 1) === 47 && text.charCodeAt(i - 2) === 58) return true; // ://
  }
  return false;
}

/**
 * Anchored on each `@`: scans at most 64 local-part characters left and 253 domain characters
 * right, so the cost is bounded per `@` (linear overall, unlike `[\w.]+@[\w.]+` which is quadratic on a
 * long run without `@`). The domain needs two labels and an alphabetic TLD.
 */
export const emailDetector: Detector = {
  entity: 'email',
  ambiguous: false,
  context: { raise: ['email', 'e-mail', 'mail', 'contact'], raiseBy: 0.4, lower: [], lowerBy: 0 },
  find(text, out) {
    let at_ = text.indexOf('@');
    while (at_ !== -1) {
      let s = at_;
      while (s > 0 && at_ - s < 64 && EMAIL_LOCAL(text.charCodeAt(s - 1))) s--;
      while (s < at_ && text.charCodeAt(s) === 46) s++;
      let e = at_ + 1;
      let lastDot = -1;
      while (e < text.length && e - at_ - 1 < 253 && EMAIL_DOMAIN(text.charCodeAt(e))) {
        if (text.charCodeAt(e) === 46) lastDot = e;
        e++;
      }
      while (e > at_ + 1 && (text.charCodeAt(e - 1) === 46 || text.charCodeAt(e - 1) === 45)) e--;
      // Trailing dots were cut off: the last dot inside the domain is before them (bounded by it).
      if (lastDot >= e - 1) {
        lastDot = -1;
        for (let k = e - 2; k > at_ && lastDot === -1; k--) if (text.charCodeAt(k) === 46) lastDot = k;
      }
      // Cheap rejections first (no local part, no dot inside the domain): an adversarial text with
      // an @ every other character then costs no allocation per @.
      if (s === at_ || lastDot === -1) {
        at_ = text.indexOf('@', at_ + 1);
        continue;
      }
      const domain = text.slice(at_ + 1, e);
      const labels = domain.split('.');
      const tld = labels[labels.length - 1] ?? '';
      const ok =
        s < at_ &&
        !urlPassword(text, s) &&
        text.charCodeAt(at_ - 1) !== 46 &&
        labels.length >= 2 &&
        labels.every((l) => l.length > 0 && l.length <= 63 && !l.startsWith('-') && !l.endsWith('-')) &&
        /^(?:[a-z]{2,24}|xn--[a-z0-9-]{1,59})$/i.test(tld);
      if (ok) {
        const score = FILE_EXTENSIONS.has(tld.toLowerCase()) ? 0.3 : 0.9;
        out.push({ start: s, end: e, entity: 'email', score, normalized: text.slice(s, e).toLowerCase() });
        at_ = text.indexOf('@', e);
      } else {
        at_ = text.indexOf('@', at_ + 1);
      }
    }
  },
};

// ---- credit cards ----------------------------------------------------------------------------------------

/**
 * 13–19 digits, optionally grouped by single spaces or dashes, Luhn-valid, with a known scheme
 * prefix (an unknown prefix needs a keyword). When a grouped run is longer than a card (an order
 * number before it, a year after it), every group-aligned window of 13–19 digits is tried: at most
 * 19 windows per group, so linear.
 */
export const creditCardDetector: Detector = {
  entity: 'credit_card',
  ambiguous: true,
  context: {
    raise: ['card', 'credit', 'debit', 'visa', 'mastercard', 'amex', 'cc', 'pan', 'payment', 'cvv', 'expiry'],
    raiseBy: 0.3,
    lower: ['tracking', 'isbn', 'imei', 'serial'],
    lowerBy: 0.3,
  },
  find(text, out) {
    const digits = new PieceDigits();
    for (const piece of digitRunPieces(text, ' -', false, 13)) {
      const n = piece.starts.length;
      if (digits.load(text, piece, true) < 13) continue;
      const off = digits.off;
      // Every group-aligned window of 13–19 digits that passes Luhn is a candidate, from every
      // group: the scanner keeps the longest one that is not held out (a timestamp glued after a
      // card) and merges the rest. At most 19 windows per group, each checked in O(1): linear.
      let last = 0;
      for (let g = 0; g < piece.own; g++) {
        if (last < g) last = g;
        while (last < n && (off[last + 1] ?? 0) - (off[g] ?? 0) <= 19) last++;
        for (let e = last; e > g; e--) {
          if ((off[e] ?? 0) - (off[g] ?? 0) < 13) break;
          if (!digits.luhn(g, e)) continue;
          const d = digits.digits(g, e);
          if (allSameDigit(d)) continue;
          out.push({
            start: piece.starts[g] ?? 0,
            end: piece.ends[e - 1] ?? 0,
            entity: 'credit_card',
            score: cardSchemeKnown(d) ? 0.9 : 0.4,
            normalized: d,
          });
        }
      }
    }
  },
};

// ---- phone numbers -------------------------------------------------------------------------------------

/**
 * International numbers (`+` or `00` then an assigned country code, 8–15 digits), NANP numbers
 * (3-3-4 with an area code and exchange starting 2–9, optionally `1-`), and national numbers with
 * a trunk `0` (UK `020 7946 0958`, FR `01 23 45 67 89`, DE `030 12345678`): 9–11 digits, grouped.
 * Bare digit strings score below the threshold and need a keyword (`call`, `phone`, a `*phone*` key).
 */
export const phoneDetector: Detector = {
  entity: 'phone_number',
  ambiguous: true,
  context: {
    raise: [
      'phone',
      'tel',
      'telephone',
      'mobile',
      'cell',
      'call',
      'fax',
      'whatsapp',
      'sms',
      'contact',
      'dial',
      'text me',
    ],
    raiseBy: 0.3,
    lower: ['isbn', 'serial', 'imei', 'tracking'],
    lowerBy: 0.3,
  },
  find(text, out) {
    const digits = new PieceDigits();
    for (const piece of digitRunPieces(text, ' -.\u00a0', true, 7)) {
      // Group-aligned windows of at most 15 digits, longest first, so a number inside a longer
      // run of digit groups ("order 123 415-555-2671") is still found. Bounded work per group.
      if (digits.load(text, piece, false) < 7) continue;
      const off = digits.off;
      const n = piece.starts.length;
      let last = 0;
      for (let g = 0; g < piece.own; g++) {
        if (last < g) last = g;
        while (last < n && (off[last + 1] ?? 0) - (off[g] ?? 0) <= 15) last++;
        // As for cards, every window from every group is a candidate; the scanner merges them.
        for (let e = last; e > g && (off[e] ?? 0) - (off[g] ?? 0) >= 7; e--) {
          const c = phoneWindow(text, piece, digits, g, e);
          if (c) out.push(c);
        }
      }
    }
  },
};

/** Classifies groups [g, e) of a digit run as a phone number, or not (cheap checks first). */
function phoneWindow(
  text: string,
  piece: RunPiece,
  pd: PieceDigits,
  g: number,
  e: number,
): Candidate | undefined {
  const n = (pd.off[e] ?? 0) - (pd.off[g] ?? 0);
  const groups = e - g;
  const runFirst = g === 0 && piece.runFirst;
  const plus = runFirst && at(text, piece.runStart - 1) === 43 && !isWord(at(text, piece.runStart - 2));
  const d0 = text.charCodeAt(piece.starts[g] ?? 0);
  // Cheap rejections before any string is built (most windows of an adversarial run end here).
  if (n < 7) return undefined;
  if (
    !plus &&
    d0 !== 48 &&
    !((n === 10 || (n === 11 && d0 === 49)) && (groups === 1 || groups === 3 || groups === 4))
  )
    return undefined;
  const digits = pd.digits(g, e);
  const groupLen = (k: number) => (piece.ends[k] ?? 0) - (piece.starts[k] ?? 0);
  let score = 0;
  if (plus) {
    if (n < 8) return undefined;
    score = countryCodeValid(digits) ? 0.75 : 0.4;
  } else if (digits[0] === '0') {
    if (digits[1] === '0') {
      if (n >= 10 && countryCodeValid(digits.slice(2))) score = groups > 1 ? 0.6 : 0.35;
    } else if (n >= 9 && n <= 11) {
      // National trunk-prefixed numbers; dots only in the French pair format.
      let dots = false;
      for (let k = g; k < e - 1; k++) if (piece.dotAfter[k]) dots = true;
      let pairs = groups === 5 && digits.length === 10;
      for (let k = g; pairs && k < e; k++) if (groupLen(k) !== 2) pairs = false;
      if (!dots || pairs) score = groups > 1 ? 0.55 : 0.3;
    }
  } else if (
    (n === 10 || (n === 11 && digits[0] === '1')) &&
    (groups === 1 || groups === 3 || groups === 4)
  ) {
    const shape = Array.from({ length: groups }, (_, k) => groupLen(g + k)).join('-');
    const nanpShape = shape === '3-3-4' || shape === '1-3-3-4' || groups === 1;
    if (nanpShape && nanpValid(n === 11 ? digits.slice(1) : digits)) score = groups > 1 ? 0.65 : 0.35;
  }
  if (score === 0) return undefined;
  let start = runFirst ? piece.runStart : (piece.starts[g] ?? 0);
  if (!runFirst && at(text, start - 1) === 40) start--; // (
  if (plus) start--;
  let end = piece.ends[e - 1] ?? 0;
  const span = text.slice(start, end);
  if (at(text, end) === 41 && span.includes('(') && !span.includes(')')) end++;
  return { start, end, entity: 'phone_number', score, normalized: (plus ? '+' : '') + digits };
}

// ---- US SSN --------------------------------------------------------------------------------------------

const SSN = /(?<![\w.\-/])(\d{3})([- ]?)(\d{2})\2(\d{4})(?![\w]|[.\-/]\d)/g;

/** `123-45-6789` (0.65), `123 45 6789` (0.45) or nine bare digits (0.3); keywords add 0.4. */
export const ssnDetector: Detector = {
  entity: 'us_ssn',
  ambiguous: true,
  context: {
    raise: ['ssn', 'social security', 'social sec', 'taxpayer', 'tin', 'itin', 'ss#'],
    raiseBy: 0.4,
    lower: [],
    lowerBy: 0,
  },
  find(text, out) {
    // Fixed-length pattern: constant work per start position.
    for (const m of text.matchAll(SSN)) {
      const [all, area = '', sep = '', group = '', serial = ''] = m;
      if (!ssnValid(area, group, serial)) continue;
      const score = sep === '-' ? 0.65 : sep === ' ' ? 0.45 : 0.3;
      out.push({
        start: m.index,
        end: m.index + all.length,
        entity: 'us_ssn',
        score,
        normalized: area + group + serial,
      });
    }
  },
};

// ---- IBAN ----------------------------------------------------------------------------------------------

// Country, check digits, then 11–30 alphanumerics in groups separated by single spaces: bounded.
const IBAN_RUN = /(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30}/g;

/**
 * The run is cut at the country's registered length (so words after a grouped IBAN are not
 * swallowed), must end at a token boundary there, and must pass mod-97.
 */
export const ibanDetector: Detector = {
  entity: 'iban',
  ambiguous: true,
  context: {
    raise: ['iban', 'bank', 'account', 'transfer', 'sepa', 'wire'],
    raiseBy: 0.2,
    lower: [],
    lowerBy: 0,
  },
  find(text, out) {
    // A rejected run ("AB12 DE89 3704 …") is retried from its next token: the valid IBAN may start
    // inside it. Each attempt reads at most 34 characters and starts at a token boundary.
    IBAN_RUN.lastIndex = 0;
    for (let m = IBAN_RUN.exec(text); m !== null; m = IBAN_RUN.exec(text)) {
      const raw = m[0];
      const found = ibanAt(text, m.index, raw);
      if (found) {
        out.push(found);
        IBAN_RUN.lastIndex = found.end;
      } else {
        IBAN_RUN.lastIndex = m.index + 1;
      }
    }
  },
};

function ibanAt(text: string, start: number, raw: string): Candidate | undefined {
  const want = IBAN_LENGTHS.get(raw.slice(0, 2).toUpperCase());
  if (want === undefined) return undefined;
  let compact = '';
  let end = -1;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === ' ') continue;
    compact += raw[i];
    if (compact.length === want) {
      end = i + 1;
      break;
    }
  }
  if (end === -1 || isAlnum(at(text, start + end))) return undefined;
  compact = compact.toUpperCase();
  if (!ibanValid(compact)) return undefined;
  return { start, end: start + end, entity: 'iban', score: 0.85, normalized: compact };
}

// ---- IP addresses ----------------------------------------------------------------------------------------

const IPV4 = /(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)/g;
const IP_CONTEXT: KeywordContext = {
  raise: ['ip', 'ipv4', 'ipv6', 'address', 'addr', 'host', 'client', 'remote', 'peer', 'from'],
  raiseBy: 0.2,
  lower: ['version', 'release', 'build', 'sdk', 'oid'],
  lowerBy: 0.4,
};

/**
 * IPv4 dotted quads (no leading zeros, each octet ≤ 255, not part of a longer dotted run) and
 * IPv6 (runs of hex digits, `:` and `.` with at least two colons, validated by node:net). An IPv6
 * with fewer than three groups (`::1`, `dead::beef`) needs a keyword.
 */
export const ipDetector: Detector = {
  entity: 'ip_address',
  ambiguous: true,
  context: IP_CONTEXT,
  find(text, out) {
    for (const m of text.matchAll(IPV4)) {
      if (ipv4Valid(m[0]))
        out.push({
          start: m.index,
          end: m.index + m[0].length,
          entity: 'ip_address',
          score: 0.65,
          normalized: m[0],
        });
    }
    // IPv6: each colon is grown into its run of hex digits, colons and dots. The right edge is
    // scanned to the end of the run and the next search starts there; the left edge only covers
    // characters no earlier scan has seen. So each character is visited at most twice.
    const v6 = (ch: number) => isHex(ch) || ch === 58 || ch === 46;
    let c = text.indexOf(':');
    while (c !== -1) {
      let s = c;
      while (s > 0 && c - s <= 45 && v6(text.charCodeAt(s - 1))) s--;
      let e = c + 1;
      while (e < text.length && v6(text.charCodeAt(e))) e++;
      const next = e;
      while (e > c + 1 && text.charCodeAt(e - 1) === 46) e--; // a trailing dot is punctuation
      if (e - s <= 45 && !isWord(at(text, s - 1)) && !isWord(at(text, e)) && at(text, s - 1) !== 46) {
        const cand = text.slice(s, e);
        if (cand.indexOf(':') !== cand.lastIndexOf(':') && ipv6Valid(cand)) {
          // An embedded IPv4 (::ffff:192.0.2.1) carries two groups' worth of address.
          const groups = cand.split(':').filter((g) => g.length > 0).length + (cand.includes('.') ? 1 : 0);
          out.push({
            start: s,
            end: e,
            entity: 'ip_address',
            score: groups >= 3 ? 0.65 : 0.4,
            normalized: cand.toLowerCase(),
          });
        }
      }
      c = text.indexOf(':', next);
    }
  },
};

// ---- credentials -----------------------------------------------------------------------------------------

interface KeyShape {
  readonly prefix: string;
  /** Minimum length of the run after the prefix. */
  readonly min: number;
  /** Exact length of the run after the prefix, when the shape has one. */
  readonly exact?: number;
  readonly check?: (rest: string) => boolean;
}

const mixed = (rest: string) => /[0-9]/.test(rest) && /[A-Z]/.test(rest) && /[a-z]/.test(rest);

/** Vendor key shapes: prefix, then a run of base64url characters. Longest prefixes first. */
const KEY_SHAPES: readonly KeyShape[] = [
  { prefix: 'sk-ant-', min: 32 }, // Anthropic (sk-ant-api03-…, sk-ant-admin01-…)
  { prefix: 'sk-', min: 20, check: mixed }, // OpenAI (sk-…, sk-proj-…, sk-svcacct-…)
  { prefix: 'sk_live_', min: 16 }, // Stripe
  { prefix: 'rk_live_', min: 16 },
  { prefix: 'AKIA', min: 16, exact: 16, check: (r) => /^[A-Z0-9]+$/.test(r) }, // AWS access key ids
  { prefix: 'ASIA', min: 16, exact: 16, check: (r) => /^[A-Z0-9]+$/.test(r) },
  { prefix: 'github_pat_', min: 22 }, // GitHub fine-grained
  { prefix: 'ghp_', min: 36 }, // GitHub classic, OAuth, user, server, refresh
  { prefix: 'gho_', min: 36 },
  { prefix: 'ghu_', min: 36 },
  { prefix: 'ghs_', min: 36 },
  { prefix: 'ghr_', min: 36 },
  { prefix: 'xoxb-', min: 10 }, // Slack bot, user, app-level, legacy
  { prefix: 'xoxp-', min: 10 },
  { prefix: 'xoxa-', min: 10 },
  { prefix: 'xoxo-', min: 10 },
  { prefix: 'xoxs-', min: 10 },
  { prefix: 'xoxr-', min: 10 },
  { prefix: 'xapp-', min: 10 },
  { prefix: 'AIza', min: 35 }, // Google API keys
  { prefix: 'ya29.', min: 20 }, // Google OAuth access tokens
  { prefix: 'glpat-', min: 20 }, // GitLab
  { prefix: 'hf_', min: 30 }, // Hugging Face
  { prefix: 'npm_', min: 36 },
  { prefix: 'pypi-', min: 50 },
];

const KEY_PREFIX = new RegExp(
  `(?<![A-Za-z0-9_-])(?:${KEY_SHAPES.map((s) => s.prefix.replace(/[.]/g, '\\.')).join('|')})`,
  'g',
);

function tokenRunEnd(text: string, i: number): number {
  while (i < text.length && (isTokenChar(text.charCodeAt(i)) || text.charCodeAt(i) === 46)) i++;
  // A trailing dot is sentence punctuation.
  while (text.charCodeAt(i - 1) === 46) i--;
  return i;
}

/**
 * One pass for every vendor prefix (a literal alternation), then the run of key characters after
 * it is taken whole, however long, so a long key is never half-redacted. The prefix regex cannot
 * start inside a run (lookbehind), so each character is scanned once.
 */
export const apiKeyDetector: Detector = {
  entity: 'api_key',
  ambiguous: false,
  find(text, out) {
    KEY_PREFIX.lastIndex = 0;
    for (let m = KEY_PREFIX.exec(text); m !== null; m = KEY_PREFIX.exec(text)) {
      const prefix = m[0];
      const shape = KEY_SHAPES.find((s) => s.prefix === prefix);
      const end = tokenRunEnd(text, m.index + prefix.length);
      const rest = text.slice(m.index + prefix.length, end);
      KEY_PREFIX.lastIndex = Math.max(end, m.index + prefix.length);
      if (!shape || rest.length < shape.min) continue;
      if (shape.exact !== undefined && rest.length !== shape.exact) continue;
      if (shape.check && !shape.check(rest)) continue;
      out.push({ start: m.index, end, entity: 'api_key', score: 0.95, normalized: text.slice(m.index, end) });
    }
    awsSecret(text, out);
  },
};

const AWS_SECRET = /(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g;
const AWS_KEYWORDS = [
  'aws_secret_access_key',
  'secret_access_key',
  'aws_secret',
  'secretaccesskey',
  'aws secret',
];

/** AWS secret access keys have no prefix: 40 base64 characters with the key's name within 40 characters before. */
function awsSecret(text: string, out: Candidate[]): void {
  if (!/secret/i.test(text)) return;
  for (const m of text.matchAll(AWS_SECRET)) {
    const before = text.slice(Math.max(0, m.index - 40), m.index).toLowerCase();
    if (!mixed(m[0]) || !hasKeyword(before, AWS_KEYWORDS)) continue;
    out.push({ start: m.index, end: m.index + 40, entity: 'api_key', score: 0.9, normalized: m[0] });
  }
}

const JWT_START = /(?<![A-Za-z0-9_-])eyJ/g;

/** `header.payload.signature`, base64url, the header decoding to a JSON object with `alg` or `typ`. */
export const jwtDetector: Detector = {
  entity: 'jwt',
  ambiguous: false,
  find(text, out) {
    JWT_START.lastIndex = 0;
    for (let m = JWT_START.exec(text); m !== null; m = JWT_START.exec(text)) {
      const s = m.index;
      let i = s;
      const segEnds: number[] = [];
      for (let seg = 0; seg < 3; seg++) {
        while (i < text.length && isTokenChar(text.charCodeAt(i))) i++;
        segEnds.push(i);
        if (seg < 2) {
          if (text.charCodeAt(i) !== 46) break;
          i++;
        }
      }
      JWT_START.lastIndex = Math.max(i, s + 3);
      if (segEnds.length < 3) continue;
      const header = text.slice(s, segEnds[0]);
      const payloadLen = (segEnds[1] ?? 0) - (segEnds[0] ?? 0) - 1;
      if (header.length < 10 || payloadLen < 4 || !jwtHeader(header)) continue;
      const end = segEnds[2] ?? i;
      out.push({ start: s, end, entity: 'jwt', score: 0.95, normalized: text.slice(s, end) });
    }
  },
};

function jwtHeader(b64: string): boolean {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(b64, 'base64url').toString('utf8'));
    return parsed !== null && typeof parsed === 'object' && ('alg' in parsed || 'typ' in parsed);
  } catch {
    return false;
  }
}

const AUTH_SCHEME = /(?<![A-Za-z0-9])(bearer|basic)[ \t]{1,8}([A-Za-z0-9._~+/-]{8,}=*)/gi;

/**
 * HTTP credentials after `Bearer` / `Basic` (the scheme word is kept). A bearer token needs 16+
 * characters with a digit or mixed case (so prose like "bearer instruments" is left alone); a Basic
 * credential must decode to `user:password`.
 */
export const bearerDetector: Detector = {
  entity: 'bearer_token',
  ambiguous: false,
  find(text, out) {
    for (const m of text.matchAll(AUTH_SCHEME)) {
      const scheme = (m[1] ?? '').toLowerCase();
      const token = m[2] ?? '';
      const start = m.index + m[0].length - token.length;
      let ok: boolean;
      if (scheme === 'bearer')
        ok = token.length >= 16 && (/\d/.test(token) || (/[a-z]/.test(token) && /[A-Z]/.test(token)));
      else
        ok =
          /^[A-Za-z0-9+/]+=*$/.test(token) && Buffer.from(token, 'base64').toString('latin1').includes(':');
      if (ok)
        out.push({ start, end: start + token.length, entity: 'bearer_token', score: 0.9, normalized: token });
    }
  },
};

const PEM_BEGIN = /-----BEGIN (?:[A-Z0-9]{1,20} ){0,3}PRIVATE KEY(?: BLOCK)?-----/g;
const PEM_END = /-----END (?:[A-Z0-9]{1,20} ){0,3}PRIVATE KEY(?: BLOCK)?-----/g;

/** From a private-key BEGIN line to its END line; with no END, to the end of the text (fail closed). */
export const privateKeyDetector: Detector = {
  entity: 'private_key',
  ambiguous: false,
  find(text, out) {
    if (!text.includes('PRIVATE KEY')) return;
    PEM_BEGIN.lastIndex = 0;
    for (let m = PEM_BEGIN.exec(text); m !== null; m = PEM_BEGIN.exec(text)) {
      PEM_END.lastIndex = m.index + m[0].length;
      const e = PEM_END.exec(text);
      const end = e ? e.index + e[0].length : text.length;
      out.push({
        start: m.index,
        end,
        entity: 'private_key',
        score: 1,
        normalized: text.slice(m.index, end),
      });
      if (!e) return; // No END anywhere after: nothing further can close, stop (keeps it linear).
      PEM_BEGIN.lastIndex = end;
    }
  },
};

const URL_STOP = new Set([47, 63, 35, 32, 9, 10, 13, 34, 39, 60, 62, 96]); // / ? # space tab LF CR " ' < > `

/** The password of `scheme://user:password@host` (user and host are kept). At most 256 characters scanned per `://`. */
export const urlPasswordDetector: Detector = {
  entity: 'url_password',
  ambiguous: false,
  find(text, out) {
    let i = text.indexOf('://');
    while (i !== -1) {
      const s = i + 3;
      let j = s;
      let colon = -1;
      let atSign = -1;
      while (j < text.length && j - s < 256) {
        const c = text.charCodeAt(j);
        if (URL_STOP.has(c)) break;
        if (c === 58 && colon === -1) colon = j;
        if (c === 64) atSign = j; // the last @ before the host ends the userinfo
        j++;
      }
      if (colon !== -1 && atSign > colon + 1) {
        out.push({
          start: colon + 1,
          end: atSign,
          entity: 'url_password',
          score: 0.95,
          normalized: text.slice(colon + 1, atSign),
        });
      }
      i = text.indexOf('://', Math.max(j, i + 3));
    }
  },
};

const SECRET_ASSIGNMENT =
  /(?<![A-Za-z0-9])(?:password|passwd|pwd|passphrase|secret|client_secret|secret_key|api_key|apikey|api-key|access_key|access_token|auth_token|refresh_token|private_key)["']?[ \t]{0,3}[:=][ \t]{0,3}["']?([^\s"',;&{}()[\]<>]{4,})/gi;

/** `password=hunter2`, `"api_key": "…"`, `client_secret: …` in free text: the value is redacted, the name kept. */
export const secretAssignmentDetector: Detector = {
  entity: 'secret',
  ambiguous: false,
  find(text, out) {
    for (const m of text.matchAll(SECRET_ASSIGNMENT)) {
      const value = m[1] ?? '';
      const start = m.index + m[0].length - value.length;
      out.push({ start, end: start + value.length, entity: 'secret', score: 0.85, normalized: value });
    }
  },
};

/** The built-in detectors by entity, in priority order (used to label merged overlaps). */
export const BUILTIN_DETECTORS: Readonly<Record<BuiltinEntity, Detector>> = {
  private_key: privateKeyDetector,
  jwt: jwtDetector,
  api_key: apiKeyDetector,
  bearer_token: bearerDetector,
  url_password: urlPasswordDetector,
  secret: secretAssignmentDetector,
  email: emailDetector,
  credit_card: creditCardDetector,
  iban: ibanDetector,
  us_ssn: ssnDetector,
  phone_number: phoneDetector,
  ip_address: ipDetector,
};
