// Number formats of the benchmark reports: a value that could not be measured (NaN, ±Infinity) reads
// `n/a` instead of a number.

/** Rounded, with thousands separators. */
export const int = (x: number): string =>
  Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a';

/** `digits` decimals. */
export const fixed = (x: number, digits = 1): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
