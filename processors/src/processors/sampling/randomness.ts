/**
 * Consistent probability sampling as OpenTelemetry specifies it (TraceState: Probability Sampling,
 * OTEP 235): every participant reads the same 56 bits of randomness R from a trace — the explicit
 * `rv` of the `ot` tracestate entry when present, else the trace id's least-significant 7 bytes
 * (bytes 9..15) — and keeps the trace when R ≥ T, the rejection threshold (1 − p) × 2^56. A pure
 * function of the trace, so every replica, restart or second instance decides alike, and a trace kept
 * at some rate is kept at every higher rate.
 */

export const RANDOMNESS_BYTES = 7;
/** Where the randomness starts in a 16-byte trace id. */
const TRACE_ID_OFFSET = 16 - RANDOMNESS_BYTES;
const TWO_56 = 1n << 56n;

/** The rejection threshold for `percentage` as 7 big-endian bytes, or undefined for "keep none" (T = 2^56). */
export function thresholdBytes(percentage: number): Uint8Array | undefined {
  const keep = BigInt(Math.round((Math.min(Math.max(percentage, 0), 100) / 100) * 2 ** 56));
  const t = TWO_56 - keep;
  if (t >= TWO_56) return undefined;
  const out = new Uint8Array(RANDOMNESS_BYTES);
  let v = t;
  for (let i = RANDOMNESS_BYTES - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** The 14 hex digits of `rv` in the `ot` entry of a W3C tracestate, as 7 bytes; undefined when absent or malformed. */
export function explicitRandomness(traceState: string | undefined): Uint8Array | undefined {
  if (!traceState || traceState.indexOf('rv:') < 0) return undefined;
  for (const member of traceState.split(',')) {
    const m = member.trim();
    if (!m.startsWith('ot=')) continue;
    for (const field of m.slice(3).split(';')) {
      if (!field.startsWith('rv:')) continue;
      const hex = field.slice(3);
      if (!/^[0-9a-f]{14}$/.test(hex)) return undefined;
      return Uint8Array.from(Buffer.from(hex, 'hex'));
    }
  }
  return undefined;
}

/** Keeps `percentage` % of traces, consistently: see the module comment. */
export class ConsistentSampler {
  readonly #threshold: Uint8Array | undefined;

  constructor(percentage: number) {
    this.#threshold = thresholdBytes(percentage);
  }

  /** R ≥ T, compared byte by byte (56 bits do not fit a double exactly). */
  keeps(traceId: Uint8Array, rv?: Uint8Array): boolean {
    const t = this.#threshold;
    if (!t) return false;
    const r = rv ?? traceId;
    const offset = rv ? 0 : TRACE_ID_OFFSET;
    if (r.length < offset + RANDOMNESS_BYTES) return false;
    for (let i = 0; i < RANDOMNESS_BYTES; i++) {
      const a = r[offset + i] ?? 0;
      const b = t[i] ?? 0;
      if (a !== b) return a > b;
    }
    return true;
  }
}
