/** What a secret is replaced with in log output: the Collector's mark for `configopaque` values. */
export const REDACTED = '[REDACTED]';

/**
 * Shorter values are not credentials (tenant ids, versions) and masking them would garble unrelated text.
 * Every API key, token and HMAC key llmobs deals with is far longer.
 */
export const MIN_SECRET_LENGTH = 8;

/**
 * Replaces known secret values in serialized log lines, whichever field carries them: an exporter's error
 * quoting a backend that echoed the API key, a header value in an error object, a key file's content. Values
 * are only ever added: an exporter of a replaced config may still be draining and logging.
 */
export class SecretScrubber {
  readonly #forms = new Set<string>();
  #ordered: readonly string[] = [];

  add(values: Iterable<string>): void {
    const before = this.#forms.size;
    for (const v of values) {
      if (v.length < MIN_SECRET_LENGTH) continue;
      this.#forms.add(v);
      // As it appears inside a JSON string (quotes, backslashes, control characters escaped).
      this.#forms.add(JSON.stringify(v).slice(1, -1));
    }
    // Longest first, so a secret that contains another is replaced whole.
    if (this.#forms.size !== before) this.#ordered = [...this.#forms].sort((a, b) => b.length - a.length);
  }

  get size(): number {
    return this.#forms.size;
  }

  scrub = (line: string): string => {
    let out = line;
    for (const s of this.#ordered) if (out.includes(s)) out = out.replaceAll(s, REDACTED);
    return out;
  };
}
