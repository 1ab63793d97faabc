import { gzipSync } from 'node:zlib';
import type { Sender, SendResult } from '../../exporterhelper/queued-exporter.ts';
import { parseRetryAfter } from '../../exporterhelper/retry.ts';
import { CONTENT_TYPE, decodeResponse, type Encoding } from '../../otlp/codec.ts';
import type { Signal } from '../../otlp/schema.ts';

/** HTTP statuses the OTLP spec calls retryable; every other non-2xx is permanent. */
const RETRYABLE = new Set([429, 502, 503, 504]);

export interface OtlpHttpSenderOptions {
  readonly url: string;
  readonly signal: Signal;
  readonly encoding: Encoding;
  readonly compression: 'gzip' | 'none';
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

/** One POST of an encoded export request, classified the way the OTLP/HTTP spec says. */
export class OtlpHttpSender implements Sender {
  readonly canConcat: boolean;
  readonly #o: OtlpHttpSenderOptions;

  constructor(o: OtlpHttpSenderOptions) {
    this.#o = o;
    this.canConcat = o.encoding === 'protobuf';
  }

  async send(body: Uint8Array, abort: AbortSignal): Promise<SendResult> {
    const headers: Record<string, string> = {
      ...this.#o.headers,
      'content-type': CONTENT_TYPE[this.#o.encoding],
      'user-agent': 'llmobs-processor',
    };
    let payload = body;
    if (this.#o.compression === 'gzip') {
      payload = gzipSync(body);
      headers['content-encoding'] = 'gzip';
    }
    let res: Response;
    try {
      res = await fetch(this.#o.url, {
        method: 'POST',
        headers,
        body: payload,
        signal: AbortSignal.any([abort, AbortSignal.timeout(this.#o.timeoutMs)]),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      return {
        kind: 'retryable',
        message: `POST ${this.#o.url}: ${(err as Error).message}${cause ? ` (${cause})` : ''}`,
      };
    }
    const text = new Uint8Array(await res.arrayBuffer());
    if (res.ok) {
      try {
        const encoding: Encoding = (res.headers.get('content-type') ?? '').includes('json')
          ? 'json'
          : 'protobuf';
        const partial = decodeResponse(this.#o.signal, text, encoding);
        return partial ? { kind: 'ok', partial } : { kind: 'ok' };
      } catch {
        return { kind: 'ok' }; // a 2xx with a body we cannot read still means the data was accepted
      }
    }
    const message = `POST ${this.#o.url}: HTTP ${res.status} ${Buffer.from(text).toString('utf8').slice(0, 300)}`;
    if (RETRYABLE.has(res.status)) {
      const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
      return retryAfterMs === undefined
        ? { kind: 'retryable', message }
        : { kind: 'retryable', message, retryAfterMs };
    }
    return { kind: 'permanent', message };
  }
}
