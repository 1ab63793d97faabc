import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Sender, SendResult } from '../../exporterhelper/queued-exporter.ts';
import { parseRetryAfter } from '../../exporterhelper/retry.ts';
import { CONTENT_TYPE, decodeResponse, type Encoding } from '../../otlp/codec.ts';
import type { Signal } from '../../otlp/schema.ts';

const gzipAsync = promisify(gzip);

/**
 * HTTP statuses the OTLP spec calls retryable; every other non-2xx is permanent (500 included: the
 * spec says other 5xx MUST NOT be retried, and the Collector's otlphttp exporter does not).
 */
const RETRYABLE = new Set([429, 502, 503, 504]);
/** Statuses whose Retry-After the Collector's otlphttp exporter honours (throttling). */
const THROTTLING = new Set([429, 503]);

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
  readonly #url: URL;
  readonly #agent: HttpAgent;

  constructor(o: OtlpHttpSenderOptions) {
    this.#o = o;
    this.canConcat = o.encoding === 'protobuf';
    this.#url = new URL(o.url);
    this.#agent =
      this.#url.protocol === 'https:'
        ? new HttpsAgent({ keepAlive: true, keepAliveMsecs: 30_000 })
        : new HttpAgent({ keepAlive: true, keepAliveMsecs: 30_000 });
  }

  async send(body: Uint8Array, abort: AbortSignal): Promise<SendResult> {
    const headers: Record<string, string> = {
      ...this.#o.headers,
      'content-type': CONTENT_TYPE[this.#o.encoding],
      'user-agent': 'llmobs-processor',
    };
    let payload = body;
    if (this.#o.compression === 'gzip') {
      // zlib's thread pool, not the event loop: a large batch must not stall every other request.
      payload = await gzipAsync(body);
      headers['content-encoding'] = 'gzip';
    }
    headers['content-length'] = String(payload.byteLength);
    let res: { status: number; headers: IncomingHttpHeaders; body: Uint8Array };
    try {
      res = await this.#post(payload, headers, abort);
    } catch (err) {
      const code = (err as { code?: string }).code;
      return {
        kind: 'retryable',
        message: `POST ${this.#o.url}: ${(err as Error).message}${code ? ` (${code})` : ''}`,
      };
    }
    if (res.status >= 200 && res.status < 300) {
      try {
        const encoding: Encoding = String(res.headers['content-type'] ?? '').includes('json')
          ? 'json'
          : 'protobuf';
        const partial = decodeResponse(this.#o.signal, res.body, encoding);
        return partial ? { kind: 'ok', partial } : { kind: 'ok' };
      } catch {
        return { kind: 'ok' }; // a 2xx with a body we cannot read still means the data was accepted
      }
    }
    const message = `POST ${this.#o.url}: HTTP ${res.status} ${Buffer.from(res.body).toString('utf8').slice(0, 300)}`;
    if (RETRYABLE.has(res.status)) {
      if (!THROTTLING.has(res.status)) return { kind: 'retryable', message };
      const retryAfter = res.headers['retry-after'];
      const retryAfterMs = parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
      return retryAfterMs === undefined
        ? { kind: 'retryable', message }
        : { kind: 'retryable', message, retryAfterMs };
    }
    return { kind: 'permanent', message };
  }

  /**
   * One POST over a keep-alive agent (node:http rather than fetch: no web-stream copies of the body,
   * connections reused across batches). Rejects on network errors, the timeout, or `abort`.
   */
  #post(
    payload: Uint8Array,
    headers: Record<string, string>,
    abort: AbortSignal,
  ): Promise<{ status: number; headers: IncomingHttpHeaders; body: Uint8Array }> {
    return new Promise((resolve, reject) => {
      if (abort.aborted) {
        reject(new Error('aborted'));
        return;
      }
      const req = (this.#url.protocol === 'https:' ? httpsRequest : httpRequest)(
        this.#url,
        { method: 'POST', headers, agent: this.#agent, timeout: this.#o.timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            abort.removeEventListener('abort', onAbort);
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
          });
          res.on('error', reject);
        },
      );
      const onAbort = () => req.destroy(new Error('aborted at the shutdown deadline'));
      abort.addEventListener('abort', onAbort, { once: true });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.#o.timeoutMs} ms`)));
      req.on('error', (err) => {
        abort.removeEventListener('abort', onAbort);
        reject(err);
      });
      req.end(payload);
    });
  }

  async close(): Promise<void> {
    this.#agent.destroy();
  }
}
