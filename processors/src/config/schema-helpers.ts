import type { FieldError } from '../component/factory.ts';
import { parseDuration, parseSize } from './units.ts';

/** A `host:port` endpoint string, as the Collector writes listen addresses. */
export function parseHostPort(
  path: string,
  value: string,
  errors: FieldError[],
): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || port > 65535) {
    errors.push({ path, message: `must be host:port, got "${value}"` });
    return { host: '', port: 0 };
  }
  return { host: m[1] ?? m[2] ?? '', port };
}

export function durationField(path: string, value: string, errors: FieldError[]): number {
  const ms = parseDuration(value);
  if (ms === undefined)
    errors.push({ path, message: `invalid duration "${value}" (use e.g. 200ms, 5s, 1m)` });
  return ms ?? 0;
}

export function sizeField(path: string, value: string | number, errors: FieldError[]): number {
  const n = parseSize(value);
  if (n === undefined)
    errors.push({ path, message: `invalid size ${JSON.stringify(value)} (use bytes or e.g. 512KiB, 20MiB)` });
  return n ?? 0;
}

export const DURATION = { type: 'string' } as const;
export const SIZE = { type: ['string', 'integer'] } as const;
