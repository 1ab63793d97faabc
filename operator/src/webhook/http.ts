import type { IncomingHttpHeaders } from 'node:http';

/**
 * The part of a request the webhook reads, common to node:http's IncomingMessage (HTTP/1.1) and node:http2's
 * compatibility Http2ServerRequest, so one handler serves both protocols of the same server.
 */
export interface WebhookRequest extends AsyncIterable<Buffer | string> {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly headers: IncomingHttpHeaders;
}

/** The part of a response the webhook writes, common to ServerResponse and Http2ServerResponse. */
export interface WebhookResponse {
  statusCode: number;
  readonly headersSent: boolean;
  setHeader(name: string, value: string | number): unknown;
  end(body: string | Buffer): unknown;
}

/** A request answered with an HTTP error status and a JSON `{message}` body. */
export class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/**
 * The body parsed as JSON. Refuses (413) a body over `limit` bytes as soon as it gets there, by
 * content-length when sent, so a huge request is never buffered; 400 for a body that is not JSON.
 */
export async function readJson(req: WebhookRequest, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) throw new HttpError(413, `request body over ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += b.length;
    if (size > limit) throw new HttpError(413, `request body over ${limit} bytes`);
    chunks.push(b);
  }
  const text = Buffer.concat(chunks, size).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpError(400, `request body is not JSON: ${(err as Error).message}`);
  }
}

export function sendJson(res: WebhookResponse, status: number, body: unknown): void {
  const payload = Buffer.from(JSON.stringify(body));
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.setHeader('content-length', payload.length);
  res.end(payload);
}

export function sendText(res: WebhookResponse, status: number, body: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}

/** The path of a request target, without its query. */
export function pathOf(req: WebhookRequest): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}
