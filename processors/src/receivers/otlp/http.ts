import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';
import express, { type Request, type Response } from 'express';
import { CONTENT_TYPE, type Encoding, encodeResponse, encodeStatus, encodingOf } from '../../otlp/codec.ts';
import type { Signal } from '../../otlp/schema.ts';
import { close, listen } from '../http-server.ts';
import type { SignalConsumers } from './consumers.ts';
import { type ExportContext, handleExport } from './handle.ts';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

/** google.rpc.Code values used in OTLP/HTTP error bodies. */
const RPC = {
  INVALID_ARGUMENT: 3,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

export interface OtlpHttpServerOptions {
  readonly host: string;
  readonly port: number;
  /** Limit on the body as sent and, separately, once decompressed: a gzip bomb stops here. */
  readonly maxRequestBodyBytes: number;
  readonly paths: Readonly<Record<Signal, string>>;
  /** Timeouts in ms, 0 for none; defaults in HTTP_TIMEOUT_DEFAULTS. */
  readonly timeouts?: Partial<HttpTimeouts>;
}

/** How long a sender may take, as the Collector's confighttp names them (`read_header_timeout`, …). */
export interface HttpTimeouts {
  /** From the first byte of a request to the end of its headers (a slowloris sender is cut here). */
  readonly readHeaderMs: number;
  /** From the first byte of a request to the end of its body (a trickled body is cut here). */
  readonly readMs: number;
  /** How long a kept-alive connection may wait for its next request. */
  readonly idleMs: number;
}

/**
 * The Collector's read_header_timeout (1m) and idle_timeout (1m). Its read_timeout is 0 (none), which
 * lets a sender trickling one byte at a time hold a connection forever; this uses Node's own default
 * of 5 minutes instead, long enough for a 20 MiB body on a slow link.
 */
export const HTTP_TIMEOUT_DEFAULTS: HttpTimeouts = { readHeaderMs: 60_000, readMs: 300_000, idleMs: 60_000 };

class HttpError extends Error {
  readonly status: number;
  readonly rpcCode: number;
  constructor(status: number, rpcCode: number, message: string) {
    super(message);
    this.status = status;
    this.rpcCode = rpcCode;
  }
}

async function readBody(req: Request, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (declared > limit)
    throw new HttpError(
      413,
      RPC.INVALID_ARGUMENT,
      `request body of ${declared} bytes exceeds the limit of ${limit} bytes`,
    );
  const chunks: Buffer[] = [];
  let size = 0;
  // destroyOnReturn: false, because leaving the loop early (over the limit) must not destroy the request:
  // that tore the socket down under the 413 being written and left server.close() waiting forever.
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      throw new HttpError(413, RPC.INVALID_ARGUMENT, `request body exceeds the limit of ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

async function decompress(body: Buffer, encoding: string | undefined, limit: number): Promise<Buffer> {
  const e = (encoding ?? '').trim().toLowerCase();
  if (e === '' || e === 'identity') return body;
  if (e !== 'gzip' && e !== 'deflate') {
    throw new HttpError(
      415,
      RPC.INVALID_ARGUMENT,
      `unsupported Content-Encoding "${encoding}" (supported: gzip, deflate)`,
    );
  }
  try {
    return await (e === 'gzip' ? gunzipAsync : inflateAsync)(body, { maxOutputLength: limit });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw new HttpError(413, RPC.INVALID_ARGUMENT, `decompressed body exceeds the limit of ${limit} bytes`);
    }
    throw new HttpError(400, RPC.INVALID_ARGUMENT, `invalid ${e} body: ${(err as Error).message}`);
  }
}

/**
 * The OTLP/HTTP receiver. Answers as the OTLP spec says: 200 with an ExportResponse (partial_success
 * when items were rejected), 400 for undecodable data, 413 for oversize, 415 for unknown media types,
 * 503 + Retry-After when the pipeline pushes back; bodies in the request's own encoding.
 */
export class OtlpHttpServer {
  readonly #o: OtlpHttpServerOptions;
  readonly #ctx: ExportContext;
  readonly #consumers: SignalConsumers;
  #server: Server | undefined;
  /** Set once shutdown starts: answers then close their connection instead of keeping it alive. */
  #closing = false;

  constructor(o: OtlpHttpServerOptions, ctx: ExportContext, consumers: SignalConsumers) {
    this.#o = o;
    this.#ctx = ctx;
    this.#consumers = consumers;
  }

  get address(): AddressInfo | undefined {
    const a = this.#server?.address();
    return a && typeof a === 'object' ? a : undefined;
  }

  #reply(res: Response, encoding: Encoding, status: number, body: Uint8Array): void {
    if (this.#closing) res.setHeader('Connection', 'close');
    res
      .status(status)
      .type(CONTENT_TYPE[encoding])
      .send(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  }

  #handler(signal: Signal) {
    return async (req: Request, res: Response) => {
      const encoding = encodingOf(req.headers['content-type']);
      // Error bodies go back as protobuf unless the sender spoke JSON.
      const replyEncoding: Encoding = encoding ?? 'protobuf';
      try {
        if (!encoding) {
          throw new HttpError(
            415,
            RPC.INVALID_ARGUMENT,
            `unsupported Content-Type "${req.headers['content-type'] ?? ''}" (supported: application/x-protobuf, application/json)`,
          );
        }
        const raw = await readBody(req, this.#o.maxRequestBodyBytes);
        const body = await decompress(raw, req.headers['content-encoding'], this.#o.maxRequestBodyBytes);
        const outcome = await handleExport(this.#ctx, this.#consumers, signal, body, encoding);
        switch (outcome.kind) {
          case 'accepted':
            return this.#reply(res, encoding, 200, encodeResponse(signal, encoding));
          case 'bad_request':
            throw new HttpError(400, RPC.INVALID_ARGUMENT, outcome.message);
          case 'backpressure':
            res.setHeader('Retry-After', String(outcome.retryAfterSeconds));
            throw new HttpError(503, RPC.UNAVAILABLE, outcome.message);
          case 'failed':
            throw new HttpError(500, RPC.INTERNAL, outcome.message);
        }
      } catch (err) {
        const e = err instanceof HttpError ? err : new HttpError(500, RPC.INTERNAL, (err as Error).message);
        if (e.status === 413 || e.status === 400 || e.status === 415) {
          const reason =
            e.status === 413 ? 'too_large' : e.status === 415 ? 'unsupported_media_type' : 'invalid';
          this.#ctx.telemetry.rejectedRequest(this.#ctx.receiverId, 'http', signal, reason);
        }
        // The rest of the body is not wanted: discard it as it arrives, so a sender that writes its whole
        // body before reading gets the answer (closing instead would hand it EPIPE rather than the 413).
        // A sender that never stops is cut by the server's request timeout or at shutdown.
        if (!req.complete) req.resume();
        if (!res.headersSent)
          this.#reply(res, replyEncoding, e.status, encodeStatus(replyEncoding, e.rpcCode, e.message));
      }
    };
  }

  async start(): Promise<void> {
    const app = express();
    app.disable('x-powered-by');
    // server.close() stops new connections only: a kept-alive one can still bring requests, and one whose
    // request was in flight stays open, idle, until the client drops it. Answers during shutdown say
    // Connection: close, so each connection ends with its last answer and close() completes.
    app.use((_req, res, next) => {
      if (this.#closing) res.setHeader('Connection', 'close');
      next();
    });
    for (const [signal, path] of Object.entries(this.#o.paths) as [Signal, string][]) {
      if (!this.#consumers[signal]) continue;
      app.post(path, this.#handler(signal));
      app.all(path, (_req, res) => {
        res.setHeader('Allow', 'POST');
        res.status(405).type('text/plain').send('405 method not allowed, supported: [POST]');
      });
    }
    app.use((_req, res) => {
      res.status(404).type('text/plain').send('404 page not found');
    });
    const t = { ...HTTP_TIMEOUT_DEFAULTS, ...this.#o.timeouts };
    // As in Go's net/http under the Collector: no header timeout of its own means the read timeout.
    const headersTimeout = t.readHeaderMs > 0 ? t.readHeaderMs : t.readMs;
    const server = createServer(
      {
        headersTimeout,
        requestTimeout: t.readMs,
        // Node checks both timeouts only this often (30 s by default), so a short timeout needs a short check.
        connectionsCheckingInterval: Math.min(
          Math.max(Math.min(...[headersTimeout, t.readMs].filter((ms) => ms > 0), 30_000) / 4, 50),
          30_000,
        ),
      },
      app,
    );
    // Node closes idle keep-alive sockets after 5 s; senders (SDKs, the Collector) keep theirs longer and
    // lose a request when they reuse one the server is closing at that moment. Idle for a minute by default,
    // like Go's net/http under the Collector.
    server.keepAliveTimeout = t.idleMs;
    this.#server = server;
    await listen(server, this.#o.host, this.#o.port, 'otlp receiver');
  }

  /** Stops listening; requests in flight may finish until `deadline` (epoch ms), then connections are cut. */
  async shutdown(deadline: number): Promise<void> {
    const s = this.#server;
    if (!s) return;
    this.#server = undefined;
    this.#closing = true;
    await close(s, deadline);
  }
}
