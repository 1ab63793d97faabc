import { int64ToNumber } from '../metrics/cardinality/int64.ts';
import type { AnyValue, KeyValue } from '../otlp/model.ts';

export { int64ToNumber };

/**
 * A numeric attribute, whichever way the instrumentation typed it: int, double, or a decimal string
 * (some SDKs stringify token counts). Undefined when absent or not a finite number.
 */
export function numberOf(v: AnyValue | null | undefined): number | undefined {
  if (!v) return undefined;
  if (v.intValue !== null && v.intValue !== undefined) return int64ToNumber(v.intValue);
  if (typeof v.doubleValue === 'number') return Number.isFinite(v.doubleValue) ? v.doubleValue : undefined;
  if (typeof v.stringValue === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v.stringValue))
    return Number(v.stringValue);
  return undefined;
}

/** A string attribute; numbers and booleans are not coerced (a model name is never a number). */
export function stringOf(v: AnyValue | null | undefined): string | undefined {
  if (!v || typeof v.stringValue !== 'string' || v.stringValue === '') return undefined;
  return v.stringValue;
}

/** Sets (or replaces) an attribute in place, keeping the others' order. */
export function setAttribute(attrs: KeyValue[], key: string, value: AnyValue): void {
  for (const kv of attrs) {
    if (kv.key === key) {
      kv.value = value;
      return;
    }
  }
  attrs.push({ key, value });
}

export function hasAttribute(attrs: readonly KeyValue[], key: string): boolean {
  for (const kv of attrs) if (kv.key === key) return true;
  return false;
}
