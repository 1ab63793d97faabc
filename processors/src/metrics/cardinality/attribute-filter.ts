import type { KeyValue } from '../../otlp/model.ts';
import { GlobSet } from './glob.ts';
import { OVERFLOW_ATTRIBUTE } from './overflow.ts';

export interface AttributeFilterOptions {
  /** Allow-list: keep only keys matching one of these globs. Absent or empty: keep every key. */
  readonly include?: readonly string[] | undefined;
  /** Deny-list: drop keys matching one of these globs (applies after the allow-list). */
  readonly exclude?: readonly string[] | undefined;
}

/** Decisions remembered per key; cleared when full. */
const MEMO_SIZE = 4096;

/**
 * Data point attribute filtering with allow- and deny-list globs (`user.*`, `*.id`, `http.route`).
 * `otel.metric.overflow` is always kept: it marks a series that already is an overflow series.
 */
export class AttributeFilter {
  readonly #include: GlobSet | undefined;
  readonly #exclude: GlobSet;
  readonly #memo = new Map<string, boolean>();
  /** False when the filter keeps everything (callers skip it). */
  readonly active: boolean;

  constructor(opts: AttributeFilterOptions = {}) {
    this.#include = opts.include && opts.include.length > 0 ? new GlobSet(opts.include) : undefined;
    this.#exclude = new GlobSet(opts.exclude ?? []);
    this.active = this.#include !== undefined || this.#exclude.size > 0;
  }

  keeps(key: string): boolean {
    const known = this.#memo.get(key);
    if (known !== undefined) return known;
    const keep =
      key === OVERFLOW_ATTRIBUTE ||
      ((this.#include === undefined || this.#include.matches(key)) && !this.#exclude.matches(key));
    if (this.#memo.size >= MEMO_SIZE) this.#memo.clear();
    this.#memo.set(key, keep);
    return keep;
  }

  /** Removes, in place, the attributes this filter drops; returns how many were removed. */
  apply(attrs: KeyValue[]): number {
    if (!this.active) return 0;
    const n = attrs.length;
    let w = 0;
    for (let i = 0; i < n; i++) {
      const kv = attrs[i];
      if (kv && this.keeps(kv.key ?? '')) {
        if (w !== i) attrs[w] = kv;
        w++;
      }
    }
    if (w !== n) attrs.length = w;
    return n - w;
  }
}
