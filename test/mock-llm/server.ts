import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import express, { type NextFunction, type Request, type Response } from 'express';
import { contentText, countTokens, promptTokens, tokenPieces, truncateTokens } from './tokens.ts';

export { countTokens, promptTokens } from './tokens.ts';

/** The `usage` object the mock reports, shaped like OpenAI's chat-completions usage. */
export interface Usage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
  readonly prompt_tokens_details: { readonly cached_tokens: number };
  readonly completion_tokens_details: { readonly reasoning_tokens: number };
}

/** One request the mock answered, in arrival order. */
export interface RecordedRequest {
  readonly method: string;
  /** Path without the query string, e.g. `/v1/chat/completions`. */
  readonly path: string;
  /** Lower-cased header names. */
  readonly headers: Readonly<Record<string, string>>;
  /** The parsed JSON body (undefined for GET). */
  readonly body: unknown;
  readonly model: string | undefined;
  readonly stream: boolean;
  /** The HTTP status the mock answered with. */
  readonly status: number;
  /** The usage the mock computed for the request, also for streams that did not ask to receive it. */
  readonly usage: Usage | undefined;
  readonly receivedAt: number;
}

export interface MockLlm {
  /** Base URL ending in `/v1`, what OpenAI SDKs take as `baseURL`. */
  readonly url: string;
  readonly requests: readonly RecordedRequest[];
  close(): Promise<void>;
}

/** Behaviour a request asks for through `x-mock-*` headers or segments of its model name. */
interface Controls {
  readonly status: number | undefined;
  readonly latencyMs: number;
  readonly chunkDelayMs: number;
  readonly cachedTokens: number;
  readonly reasoningTokens: number;
  readonly retryAfter: string;
}

type Json = Record<string, unknown>;

function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function header(req: Request, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Controls come from headers first and from the model name second, because instrumented clients driven
 * by a scenario name cannot always add headers: `mock-error-429`, `mock-latency-200`,
 * `mock-cached-4-reasoning-3` and combinations such as `mock-latency-100-error-503` all work.
 */
function controlsOf(req: Request, model: string | undefined): Controls {
  const fromModel = (key: string): number | undefined => {
    const m = model === undefined ? null : new RegExp(`(?:^|-)${key}-(\\d+)(?=-|$)`).exec(model);
    return m?.[1] === undefined ? undefined : Number(m[1]);
  };
  const num = (headerName: string, key: string): number | undefined => {
    const h = header(req, headerName);
    if (h !== undefined && /^\d+$/.test(h.trim())) return Number(h.trim());
    return fromModel(key);
  };
  const status = num('x-mock-status', 'error');
  return {
    status: status !== undefined && status >= 400 && status <= 599 ? status : undefined,
    latencyMs: num('x-mock-latency-ms', 'latency') ?? 0,
    chunkDelayMs: num('x-mock-chunk-delay-ms', 'chunk-delay') ?? 0,
    cachedTokens: num('x-mock-cached-tokens', 'cached') ?? 0,
    reasoningTokens: num('x-mock-reasoning-tokens', 'reasoning') ?? 0,
    retryAfter: header(req, 'x-mock-retry-after') ?? '1',
  };
}

/** Error bodies shaped like the real API's, so SDKs map them to their typed errors. */
function errorBody(status: number, message?: string): Json {
  const known: Record<number, { type: string; code: string | null; message: string }> = {
    400: { type: 'invalid_request_error', code: null, message: 'Invalid request (mock).' },
    401: {
      type: 'invalid_request_error',
      code: 'invalid_api_key',
      message: 'Incorrect API key provided (mock).',
    },
    403: {
      type: 'invalid_request_error',
      code: 'unsupported_country_region_territory',
      message: 'Forbidden (mock).',
    },
    404: { type: 'invalid_request_error', code: 'model_not_found', message: 'Not found (mock).' },
    429: {
      type: 'requests',
      code: 'rate_limit_exceeded',
      message: 'Rate limit reached for requests (mock). Please try again in 1s.',
    },
    500: {
      type: 'server_error',
      code: null,
      message: 'The server had an error while processing your request (mock).',
    },
    503: { type: 'server_error', code: null, message: 'The engine is currently overloaded (mock).' },
  };
  const k = known[status] ?? {
    type: status >= 500 ? 'server_error' : 'invalid_request_error',
    code: null,
    message: `Mock error ${status}.`,
  };
  return { error: { message: message ?? k.message, type: k.type, param: null, code: k.code } };
}

function makeUsage(prompt: number, completion: number, c: Controls): Usage {
  const reasoning = c.reasoningTokens;
  return {
    prompt_tokens: prompt,
    // Like the real API, reasoning tokens are billed as completion tokens without appearing in the text.
    completion_tokens: completion + reasoning,
    total_tokens: prompt + completion + reasoning,
    prompt_tokens_details: { cached_tokens: Math.min(c.cachedTokens, prompt) },
    completion_tokens_details: { reasoning_tokens: reasoning },
  };
}

interface ToolCall {
  readonly id: string;
  readonly type: 'function';
  readonly function: { readonly name: string; readonly arguments: string };
}

/** Deterministic arguments for a function tool: a plausible value for each property of its schema. */
function argumentsFor(parameters: unknown): string {
  const out: Json = {};
  const props = isRecord(parameters) && isRecord(parameters.properties) ? parameters.properties : {};
  for (const [name, schema] of Object.entries(props)) {
    const type = isRecord(schema) ? schema.type : undefined;
    const enumValues = isRecord(schema) && Array.isArray(schema.enum) ? schema.enum : undefined;
    if (enumValues !== undefined && enumValues.length > 0) out[name] = enumValues[0];
    else if (type === 'number' || type === 'integer') out[name] = 1;
    else if (type === 'boolean') out[name] = true;
    else if (type === 'array') out[name] = [];
    else if (type === 'object') out[name] = {};
    else out[name] = 'mock';
  }
  return JSON.stringify(out);
}

/** The tool call the mock makes: the first function tool the request offers. */
function toolCallFor(body: Json, hash: string): ToolCall | undefined {
  if (!Array.isArray(body.tools)) return undefined;
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const last = messages[messages.length - 1];
  // After a tool result the model answers in text, which ends the usual tool-calling loop.
  if (isRecord(last) && last.role === 'tool') return undefined;
  if (body.tool_choice === 'none') return undefined;
  for (const t of body.tools) {
    if (isRecord(t) && t.type === 'function' && isRecord(t.function) && typeof t.function.name === 'string') {
      return {
        id: `call_mock${hash.slice(0, 20)}`,
        type: 'function',
        function: { name: t.function.name, arguments: argumentsFor(t.function.parameters) },
      };
    }
  }
  return undefined;
}

/**
 * A judge's reply, for models named `*judge*`: deterministic per input — FALSE when the judged text
 * contains the marker WRONG, TRUE otherwise — in the TRUE/FALSE-then-reason shape llm_evaluation asks for.
 */
function judgeReply(messages: unknown[]): string {
  const judged = messages.map((m) => (isRecord(m) ? contentText(m.content) : '')).join('\n');
  return /WRONG/.test(judged)
    ? 'FALSE\nThe answer contains a statement marked wrong.'
    : 'TRUE\nThe answer addresses the question.';
}

function replyText(messages: unknown[], model = ''): string {
  if (model.includes('judge')) return judgeReply(messages);
  const last = messages[messages.length - 1];
  if (isRecord(last) && last.role === 'tool') {
    return `The tool returned: ${contentText(last.content).slice(0, 120)}`;
  }
  const lastUser = [...messages].reverse().find((m) => isRecord(m) && m.role === 'user');
  const said = isRecord(lastUser) ? contentText(lastUser.content).replace(/\s+/g, ' ').trim() : '';
  return said.length > 0
    ? `This is the mock LLM. You said: ${said.slice(0, 200)}`
    : 'This is the mock LLM. You said nothing.';
}

function maxTokensOf(body: Json): number | undefined {
  const v = body.max_completion_tokens ?? body.max_tokens;
  return typeof v === 'number' && v > 0 ? v : undefined;
}

/** A deterministic embedding: unit-length, derived from the input's hash. */
function embeddingOf(text: string, dimensions: number): number[] {
  const out: number[] = [];
  let block = createHash('sha256').update(text).digest();
  for (let i = 0; out.length < dimensions; i++) {
    if (i > 0 && i % block.length === 0) block = createHash('sha256').update(block).digest();
    out.push(((block[i % block.length] ?? 0) / 255) * 2 - 1);
  }
  const norm = Math.sqrt(out.reduce((s, x) => s + x * x, 0)) || 1;
  return out.map((x) => Math.fround(x / norm));
}

const MODELS = ['mock-gpt', 'mock-gpt-mini', 'mock-embedding'];

/** Starts the mock OpenAI-compatible server on 127.0.0.1 (a free port unless `port` is given). */
export async function startMockLlm(opts: { port?: number } = {}): Promise<MockLlm> {
  const requests: RecordedRequest[] = [];
  let seq = 0;
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '20mb' }));

  const record = (req: Request, status: number, usage: Usage | undefined, receivedAt: number): void => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    }
    const body: unknown = req.method === 'GET' ? undefined : req.body;
    requests.push({
      method: req.method,
      path: req.path,
      headers,
      body,
      model: isRecord(body) && typeof body.model === 'string' ? body.model : undefined,
      stream: isRecord(body) && body.stream === true,
      status,
      usage,
      receivedAt,
    });
  };

  const sendError = (res: Response, status: number, c: Controls | undefined, message?: string): void => {
    if (status === 429 && c !== undefined) res.setHeader('retry-after', c.retryAfter);
    res.status(status).json(errorBody(status, message));
  };

  app.use((_req, res, next) => {
    seq += 1;
    res.setHeader('x-request-id', `req_mock_${seq}`);
    res.setHeader('openai-processing-ms', '1');
    next();
  });

  app.get('/v1/models', (req, res) => {
    record(req, 200, undefined, Date.now());
    res.json({
      object: 'list',
      data: MODELS.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'llmobs-mock' })),
    });
  });

  app.get('/v1/models/:id', (req, res) => {
    const id = String(req.params.id);
    record(req, 200, undefined, Date.now());
    res.json({ id, object: 'model', created: 1_700_000_000, owned_by: 'llmobs-mock' });
  });

  /**
   * What every generating endpoint does first: read the body and the x-mock-* controls, wait the asked
   * latency, and answer an asked-for error. Undefined when the answer was already sent.
   */
  const prelude = async (req: Request, res: Response) => {
    const receivedAt = Date.now();
    const body: Json = isRecord(req.body) ? req.body : {};
    const model = typeof body.model === 'string' ? body.model : undefined;
    const c = controlsOf(req, model);
    if (c.latencyMs > 0) await sleep(c.latencyMs);
    if (c.status !== undefined) {
      record(req, c.status, undefined, receivedAt);
      sendError(res, c.status, c);
      return undefined;
    }
    return { receivedAt, body, model, c };
  };

  app.post('/v1/chat/completions', async (req, res) => {
    const p = await prelude(req, res);
    if (!p) return;
    const { receivedAt, body, model, c } = p;
    if (model === undefined || !Array.isArray(body.messages) || body.messages.length === 0) {
      record(req, 400, undefined, receivedAt);
      sendError(res, 400, c, "'model' and a non-empty 'messages' array are required.");
      return;
    }
    const messages: unknown[] = body.messages;
    const hash = createHash('sha256').update(JSON.stringify(body)).digest('hex');
    const id = `chatcmpl-mock${hash.slice(0, 24)}`;
    const created = Math.floor(receivedAt / 1000);
    const n = typeof body.n === 'number' && body.n > 1 ? Math.min(body.n, 8) : 1;
    const prompt = promptTokens(messages);
    const toolCall = toolCallFor(body, hash);
    let text = toolCall === undefined ? replyText(messages, model) : '';
    let finish: 'stop' | 'length' | 'tool_calls' = toolCall === undefined ? 'stop' : 'tool_calls';
    const max = maxTokensOf(body);
    if (toolCall === undefined && max !== undefined && countTokens(text) > max) {
      text = truncateTokens(text, max);
      finish = 'length';
    }
    const perChoice =
      toolCall === undefined
        ? countTokens(text)
        : countTokens(toolCall.function.name) + countTokens(toolCall.function.arguments);
    const usage = makeUsage(prompt, perChoice * n, c);
    const base = { id, created, model, system_fingerprint: 'fp_mock', service_tier: 'default' };

    if (body.stream !== true) {
      record(req, 200, usage, receivedAt);
      res.json({
        ...base,
        object: 'chat.completion',
        choices: Array.from({ length: n }, (_, index) => ({
          index,
          message: {
            role: 'assistant',
            content: toolCall === undefined ? text : null,
            refusal: null,
            annotations: [],
            ...(toolCall === undefined ? {} : { tool_calls: [toolCall] }),
          },
          logprobs: null,
          finish_reason: finish,
        })),
        usage,
      });
      return;
    }

    const includeUsage = isRecord(body.stream_options) && body.stream_options.include_usage === true;
    record(req, 200, usage, receivedAt);
    res.status(200);
    res.setHeader('content-type', 'text/event-stream; charset=utf-8');
    res.setHeader('cache-control', 'no-cache');
    res.setHeader('connection', 'keep-alive');
    res.flushHeaders();
    const send = async (chunk: Json | '[DONE]', delay: boolean): Promise<boolean> => {
      if (res.destroyed || res.writableEnded) return false;
      if (delay && c.chunkDelayMs > 0) await sleep(c.chunkDelayMs);
      const data = chunk === '[DONE]' ? chunk : JSON.stringify(chunk);
      res.write(`data: ${data}\n\n`);
      return true;
    };
    // With include_usage every chunk carries `usage: null` and one extra, choice-less chunk carries it.
    const chunk = (choices: Json[], extra: Json = {}): Json => ({
      ...base,
      object: 'chat.completion.chunk',
      choices,
      ...(includeUsage ? { usage: null } : {}),
      ...extra,
    });
    const pieces = tokenPieces(text);
    for (let index = 0; index < n; index++) {
      const first: Json = { role: 'assistant', content: toolCall === undefined ? '' : null, refusal: null };
      if (!(await send(chunk([{ index, delta: first, logprobs: null, finish_reason: null }]), false))) return;
      if (toolCall !== undefined) {
        const head = {
          index: 0,
          id: toolCall.id,
          type: 'function',
          function: { name: toolCall.function.name, arguments: '' },
        };
        if (
          !(await send(
            chunk([{ index, delta: { tool_calls: [head] }, logprobs: null, finish_reason: null }]),
            true,
          ))
        )
          return;
        for (const part of tokenPieces(toolCall.function.arguments)) {
          const delta = { tool_calls: [{ index: 0, function: { arguments: part } }] };
          if (!(await send(chunk([{ index, delta, logprobs: null, finish_reason: null }]), true))) return;
        }
      } else {
        for (const part of pieces) {
          if (
            !(await send(
              chunk([{ index, delta: { content: part }, logprobs: null, finish_reason: null }]),
              true,
            ))
          )
            return;
        }
      }
      if (!(await send(chunk([{ index, delta: {}, logprobs: null, finish_reason: finish }]), false))) return;
    }
    if (includeUsage && !(await send(chunk([], { usage }), false))) return;
    if (!(await send('[DONE]', false))) return;
    res.end();
  });

  app.post('/v1/embeddings', async (req, res) => {
    const p = await prelude(req, res);
    if (!p) return;
    const { receivedAt, body, model, c } = p;
    const raw = body.input;
    // A flat number array is one pre-tokenized input; anything else is one input or a list of them.
    const inputs: unknown[] =
      Array.isArray(raw) && raw.length > 0 && raw.every((x) => typeof x === 'number')
        ? [raw]
        : Array.isArray(raw)
          ? raw
          : [raw];
    if (model === undefined || raw === undefined || inputs.length === 0) {
      record(req, 400, undefined, receivedAt);
      sendError(res, 400, c, "'model' and 'input' are required.");
      return;
    }
    const dims =
      typeof body.dimensions === 'number' && body.dimensions > 0 ? Math.min(body.dimensions, 4096) : 8;
    let tokens = 0;
    const data = inputs.map((input, index) => {
      const text = typeof input === 'string' ? input : JSON.stringify(input);
      tokens += Array.isArray(input) ? input.length : countTokens(text);
      const vector = embeddingOf(text, dims);
      const embedding =
        body.encoding_format === 'base64'
          ? Buffer.from(new Float32Array(vector).buffer).toString('base64')
          : vector;
      return { object: 'embedding', index, embedding };
    });
    const usage = { prompt_tokens: tokens, total_tokens: tokens };
    record(req, 200, makeUsage(tokens, 0, { ...c, cachedTokens: 0, reasoningTokens: 0 }), receivedAt);
    res.json({ object: 'list', data, model, usage });
  });

  app.use((req, res) => {
    record(req, 404, undefined, Date.now());
    sendError(res, 404, undefined, `Unknown route ${req.method} ${req.path} (mock).`);
  });

  // Malformed JSON bodies arrive here from express.json(); answer like the API does, not with HTML.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const status =
      isRecord(err) && typeof err.status === 'number' && err.status >= 400 && err.status < 500
        ? err.status
        : 500;
    record(req, status, undefined, Date.now());
    sendError(res, status, undefined, err instanceof Error ? err.message : String(err));
  });

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(opts.port ?? 0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // SDKs keep connections alive; without this close() would wait for their idle timeout.
        server.closeAllConnections();
      }),
  };
}
