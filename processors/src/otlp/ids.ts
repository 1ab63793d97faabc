import { BadRequestError } from './errors.ts';

const HEX = /^[0-9a-fA-F]*$/;

/**
 * OTLP/JSON carries trace and span ids as hex (not base64, unlike every other bytes field), so
 * these fields are converted on the way in and out.
 */
export const ID_FIELDS: ReadonlySet<string> = new Set(['traceId', 'spanId', 'parentSpanId']);

const ID_BYTES: Readonly<Record<string, number>> = { traceId: 16, spanId: 8, parentSpanId: 8 };

/** Hex id → bytes; empty stays empty (an absent parent). Throws BadRequestError on anything else. */
export function hexToId(field: string, hex: string): Uint8Array {
  if (hex.length === 0) return new Uint8Array(0);
  const want = ID_BYTES[field] ?? 0;
  if (!HEX.test(hex) || hex.length !== want * 2) {
    throw new BadRequestError(
      `${field} must be ${want * 2} hex characters, got ${JSON.stringify(hex.slice(0, 40))}`,
    );
  }
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export function idToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
