import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzip } from 'node:zlib';
import type { CreateSettings } from '../../component/component.ts';
import type { Exporter } from '../../component/exporter.ts';
import type { Reservation } from '../../exporterhelper/queue.ts';
import type { MetricsRequest } from '../../otlp/model.ts';
import { CONTENT_TYPE, render } from './exposition.ts';
import { acquire, type Lease } from './listener.ts';
import { MetricStore, type Problem } from './store.ts';
import { type TranslateOptions, type Translation, translate } from './translate.ts';

export interface PrometheusExporterConfig extends TranslateOptions {
  readonly host: string;
  readonly port: number;
  readonly sendTimestamps: boolean;
  readonly metricExpirationMs: number;
}

/** What a restarted exporter (hot reload, same id) takes over from its predecessor. */
interface Handover {
  readonly config: string;
  store: MetricStore;
}

/** Problems logged at warn once per metric and reason; at most this many remembered. */
const MAX_WARNED = 1000;

export function targetInfoName(namespace: string): string {
  return namespace === '' ? 'target_info' : `${namespace}_target_info`;
}

/** How often expired series are swept between scrapes. */
export function sweepIntervalMs(expirationMs: number): number {
  return Math.min(Math.max(Math.floor(expirationMs / 4), 1_000), 60_000);
}

/**
 * `prometheus`: serves the latest value of every series on GET /metrics for Prometheus to scrape,
 * like the Collector's Prometheus exporter. No queue: `prepare` translates the request and
 * checks it; `commit` folds it into the in-memory state (so a fan-out that fails elsewhere leaves
 * the state untouched); `release` discards it. Series not updated for `metric_expiration` go away.
 */
export class PrometheusExporter implements Exporter<'metrics'> {
  readonly #set: CreateSettings;
  readonly #cfg: PrometheusExporterConfig;
  readonly #configKey: string;
  #store: MetricStore;
  #lease: Lease | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #warned = new Set<string>();

  constructor(set: CreateSettings, cfg: PrometheusExporterConfig) {
    this.#set = set;
    this.#cfg = cfg;
    this.#configKey = JSON.stringify(cfg);
    this.#store = new MetricStore(cfg.metricExpirationMs, [targetInfoName(cfg.namespace)]);
  }

  /** The state served; exposed for tests. */
  get store(): MetricStore {
    return this.#store;
  }

  /** Where /metrics is served once started (the real port when 0 was configured). */
  get address(): AddressInfo | undefined {
    return this.#lease?.address;
  }

  prepare(data: MetricsRequest, items: number): Reservation {
    let t: Translation;
    try {
      t = translate(data, this.#cfg);
    } catch (err) {
      // A bug here must not block the pipeline (the sender would retry forever): drop and say so.
      this.#set.logger.error({ err }, 'cannot translate metrics; data points dropped');
      t = {
        updates: [],
        problems: [{ metric: '', reason: 'translation failed', points: items }],
        points: items,
      };
    }
    let done = false;
    return {
      commit: () => {
        if (done) return;
        done = true;
        let problems = t.problems;
        try {
          problems = [...problems, ...this.#store.apply(t.updates, Date.now()).problems];
        } catch (err) {
          this.#set.logger.error({ err }, 'cannot apply metrics; data points dropped');
          problems = [...problems, { metric: '', reason: 'apply failed', points: t.updates.length }];
        }
        const dropped = problems.reduce((n, p) => n + p.points, 0);
        this.#report(problems);
        const id = this.#set.id;
        this.#set.telemetry.drop(id, 'metrics', 'invalid', dropped);
        this.#set.telemetry.exporterSent(id, 'metrics', Math.max(0, t.points - dropped));
      },
      release: () => {
        done = true;
      },
    };
  }

  #report(problems: readonly Problem[]): void {
    const log = this.#set.logger;
    for (const p of problems) {
      const key = `${p.metric}\u0000${p.reason}`;
      if (!this.#warned.has(key) && this.#warned.size < MAX_WARNED) {
        this.#warned.add(key);
        log.warn({ metric: p.metric, points: p.points, reason: p.reason }, 'data points dropped');
      } else log.debug({ metric: p.metric, points: p.points, reason: p.reason }, 'data points dropped');
    }
  }

  /** What a scrape at `now` gets: expired series swept first, then the text format. */
  exposition(now = Date.now()): string {
    this.#store.sweep(now);
    return render(this.#store, {
      targetInfoName: targetInfoName(this.#cfg.namespace),
      sendTimestamps: this.#cfg.sendTimestamps,
    });
  }

  #serve(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const body = Buffer.from(this.exposition());
    const send = (bytes: Buffer, encoding?: string) => {
      res.writeHead(200, {
        'content-type': CONTENT_TYPE,
        'content-length': bytes.length,
        ...(encoding ? { 'content-encoding': encoding } : {}),
      });
      res.end(req.method === 'HEAD' ? undefined : bytes);
    };
    if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      gzip(body, (err, zipped) => (err ? send(body) : send(zipped, 'gzip')));
    } else send(body);
  }

  async start(): Promise<void> {
    if (this.#lease) return;
    const handover: Handover = { config: this.#configKey, store: this.#store };
    this.#lease = await acquire(
      this.#set.id,
      this.#cfg.host,
      this.#cfg.port,
      (req, res) => this.#serve(req, res),
      handover,
    );
    const previous = this.#lease.inherited as Handover | undefined;
    if (previous && previous.config === this.#configKey) {
      // Same id, same settings (a reload that changed something else): keep the series and running totals.
      this.#store = previous.store;
      handover.store = previous.store;
    }
    this.#timer = setInterval(
      () => this.#store.sweep(Date.now()),
      sweepIntervalMs(this.#cfg.metricExpirationMs),
    );
    this.#timer.unref();
    this.#set.logger.info(
      { endpoint: `${this.#lease.address.address}:${this.#lease.address.port}` },
      'serving /metrics for Prometheus',
    );
  }

  async shutdown(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    const lease = this.#lease;
    this.#lease = undefined;
    await lease?.release();
  }
}
