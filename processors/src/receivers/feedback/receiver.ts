import { createServer, type Server } from 'node:http';
import express, { type Request, type Response } from 'express';
import type { Component, Consumer, CreateSettings } from '../../component/component.ts';
import { BackpressureError } from '../../component/errors.ts';
import { close, listen } from '../http-server.ts';
import { type Feedback, feedbackSpans, parseFeedback } from './feedback.ts';

export interface FeedbackReceiverConfig {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly maxItems: number;
}

/**
 * `llm_feedback`: an HTTP endpoint for thumbs up/down on an answer, by trace id. Each item becomes a
 * feedback span in the traces pipelines; the sender gets 202 once it is handed on, 400 naming the
 * bad field, 503 with Retry-After when the pipeline pushes back.
 */
export class FeedbackReceiver implements Component {
  readonly #set: CreateSettings;
  readonly #cfg: FeedbackReceiverConfig;
  readonly #traces: Consumer<'traces'>;
  #server: Server | undefined;

  constructor(set: CreateSettings, cfg: FeedbackReceiverConfig, traces: Consumer<'traces'>) {
    this.#set = set;
    this.#cfg = cfg;
    this.#traces = traces;
  }

  /** The port listened on (useful with port 0). */
  get port(): number {
    const a = this.#server?.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  async #handle(req: Request, res: Response): Promise<void> {
    const body: unknown = req.body;
    const list = Array.isArray(body) ? body : [body];
    if (list.length === 0 || list.length > this.#cfg.maxItems) {
      res.status(400).json({ error: `send 1 to ${this.#cfg.maxItems} feedback objects` });
      return;
    }
    const items: Feedback[] = [];
    const now = Date.now();
    for (const [i, raw] of list.entries()) {
      const f = parseFeedback(raw, Array.isArray(body) ? `[${i}]` : 'feedback', now);
      if (typeof f === 'string') {
        this.#set.telemetry.rejectedRequest(this.#set.id, 'http', 'traces', 'invalid');
        res.status(400).json({ error: f });
        return;
      }
      items.push(f);
    }
    try {
      await this.#traces.consume(feedbackSpans(items));
      this.#set.telemetry.receiverAccepted(this.#set.id, 'http', 'traces', items.length);
      res.status(202).json({ accepted: items.length });
    } catch (err) {
      this.#set.telemetry.receiverRefused(this.#set.id, 'http', 'traces', items.length);
      const retry = err instanceof BackpressureError ? err.retryAfterSeconds : 5;
      res.setHeader('Retry-After', String(retry));
      res.status(503).json({ error: (err as Error).message });
    }
  }

  async start(): Promise<void> {
    const app = express();
    app.disable('x-powered-by');
    app.use(express.json({ limit: '1mb', type: () => true }));
    app.post(this.#cfg.path, (req, res) => {
      void this.#handle(req, res);
    });
    app.all(this.#cfg.path, (_req, res) => {
      res.setHeader('Allow', 'POST');
      res.status(405).json({ error: 'method not allowed, supported: [POST]' });
    });
    // Unparseable JSON: express's body parser hands its error here.
    app.use((err: Error, _req: Request, res: Response, _next: () => void) => {
      res.status(400).json({ error: `body is not JSON: ${err.message}` });
    });
    app.use((_req, res) => {
      res.status(404).json({ error: 'not found' });
    });
    const server = createServer(app);
    this.#server = server;
    await listen(server, this.#cfg.host, this.#cfg.port, 'llm_feedback receiver');
  }

  async shutdown(deadline: number): Promise<void> {
    const s = this.#server;
    if (!s) return;
    this.#server = undefined;
    await close(s, deadline);
  }
}
