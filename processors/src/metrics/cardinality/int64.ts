import Long from 'long';
import type { Int64 } from '../../otlp/model.ts';

/** 2^53 / 2^32: a Long whose high word is below this (and not negative) is a safe JS integer. */
const SAFE_HIGH = 0x200000;

/** The value as a JS number when it is an integer JS can hold exactly, else undefined. */
export function safeNumber(v: Int64 | null | undefined): number | undefined {
  if (v == null) return 0;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : undefined;
  if (v.high === 0) return v.low >>> 0;
  if (v.high > 0 && v.high < SAFE_HIGH) return v.high * 0x1_0000_0000 + (v.low >>> 0);
  return undefined;
}

/** The value as a (possibly rounded) JS number; absent is 0. */
export function int64ToNumber(v: Int64 | null | undefined): number {
  if (v == null) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

function toLong(v: Int64): Long {
  return typeof v === 'number' ? Long.fromNumber(v) : v;
}

/**
 * Exact 64-bit addition. Plain numbers while the sum is a safe integer (no allocation on the common
 * path), a Long beyond that; absent counts as 0.
 */
export function addInt64(a: Int64 | null | undefined, b: Int64 | null | undefined): Int64 {
  const x = safeNumber(a);
  const y = safeNumber(b);
  if (x !== undefined && y !== undefined) {
    const s = x + y;
    if (Number.isSafeInteger(s)) return s;
  }
  return toLong(a ?? 0).add(toLong(b ?? 0));
}

/** -1, 0 or 1, comparing two 64-bit integers (timestamps, counts); absent is 0. */
export function compareInt64(a: Int64 | null | undefined, b: Int64 | null | undefined): number {
  const x = safeNumber(a);
  const y = safeNumber(b);
  if (x !== undefined && y !== undefined) return x < y ? -1 : x > y ? 1 : 0;
  return toLong(a ?? 0).compare(toLong(b ?? 0));
}

/** True for an absent or zero value (timestamps use 0 for "unknown"). */
export function isZeroInt64(v: Int64 | null | undefined): boolean {
  return v == null || (typeof v === 'number' ? v === 0 : v.isZero());
}
