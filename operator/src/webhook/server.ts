import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { type Logger, pino } from 'pino';
import type { Registry } from 'prom-client';
import {
  type AdmissionRequest,
  type AdmissionResponse,
  AdmissionReviewError,
  parseAdmissionReview,
  review,
} from './admission.ts';
import { type AdmissionEvent, type EventRecorder, eventSubject } from './events.ts';
import { webhookMetrics } from './metrics.ts';
import type { ConfigSource, NamespaceLookup, WebhookSettings } from './podmutation/config.ts';
import { REASON } from './podmutation/constants.ts';
import { admitPod, type PodAdmission } from './podmutation/handler.ts';
import type { PodMutator } from './podmutation/mutator.ts';

export const MUTATE_POD_PATH = '/mutate-v1-pod';
export const HEALTHZ_PATH = '/healthz';

export interface TlsMaterial {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface WebhookServerOptions {
  readonly configSource: ConfigSource;
  readonly namespaces: NamespaceLookup;
  readonly settings: WebhookSettings;
  readonly events: EventRecorder;
  /** The operator's registry; the counter is registered once in it. */
  readonly registry: Registry;
  readonly tls: TlsMaterial;
  /** Default 0 (a free port). */
  readonly port?: number;
  /** Default 0.0.0.0. */
  readonly host?: string;
  readonly logger?: Logger;
  /** Replaces the default mutator chain (tests). */
  readonly mutators?: readonly PodMutator[];
  /** Extra validating endpoints (e.g. the LLMObservability policy check), served beside the pod webhook. */
  readonly validators?: readonly Validator[];
}

/** A validating admission endpoint: POST `path`, AdmissionReview v1 in, allow or deny out. */
export interface Validator {
  readonly path: string;
  validate(request: AdmissionRequest): AdmissionResponse | Promise<AdmissionResponse>;
}

export interface WebhookServer {
  readonly port: number;
  /** https://<host>:<port> */
  readonly url: string;
  /** Serves new connections with this certificate (rotation); open connections keep theirs. */
  setCertificate(tls: TlsMaterial): void;
  /** Idempotent. */
  stop(): Promise<void>;
}

function eventFor(a: PodAdmission): AdmissionEvent | undefined {
  if (a.outcome === 'ignored' || !a.pod) return undefined;
  return {
    regarding: eventSubject(a.pod, a.namespace),
    type: a.outcome === 'injected' && a.reason === REASON.injected ? 'Normal' : 'Warning',
    reason: a.reason,
    message: `llmobs injection ${a.outcome}${a.pod.metadata?.name ? ` for pod ${a.pod.metadata.name}` : ''}: ${a.message}`,
  };
}

/**
 * The express app behind the HTTPS server: POST /mutate-v1-pod (AdmissionReview v1) and GET /healthz.
 * Side effects (the counter, the Event) happen after the answer and never on dry-run.
 */
export function webhookApp(o: Omit<WebhookServerOptions, 'tls' | 'port' | 'host'>): express.Express {
  const log = o.logger ?? pino({ level: 'silent' });
  const metrics = webhookMetrics(o.registry);
  const deps = {
    configSource: o.configSource,
    namespaces: o.namespaces,
    settings: o.settings,
    ...(o.mutators ? { mutators: o.mutators } : {}),
  };
  const app = express();
  app.disable('x-powered-by');
  app.get(HEALTHZ_PATH, (_req, res) => {
    res.type('text/plain').send('ok');
  });
  const started = (_req: Request, res: Response, next: NextFunction) => {
    res.locals.startedAt = performance.now();
    next();
  };
  // Pods are at most ~1.5 MB in etcd; the review carries one object.
  app.post(MUTATE_POD_PATH, started, express.json({ limit: '4mb' }), async (req: Request, res: Response) => {
    let parsed: ReturnType<typeof parseAdmissionReview>;
    try {
      parsed = parseAdmissionReview(req.body);
    } catch (err) {
      res.status(400).json({ message: (err as Error).message });
      return;
    }
    const a = await admitPod(parsed.request, deps);
    res.json(review(a.response));
    metrics.duration.observe(
      { outcome: a.outcome },
      (performance.now() - (res.locals.startedAt as number)) / 1000,
    );
    log[a.outcome === 'ignored' ? 'debug' : 'info'](
      {
        uid: parsed.request.uid,
        namespace: a.namespace,
        pod: a.pod?.metadata?.name ?? a.pod?.metadata?.generateName,
        outcome: a.outcome,
        reason: a.reason,
        dryRun: a.dryRun,
        appliedBy: a.appliedBy,
      },
      a.message,
    );
    if (a.dryRun) return;
    metrics.injections.inc({ outcome: a.outcome, reason: a.reason });
    const event = eventFor(a);
    if (event) {
      // Never awaited, never allowed to throw into the request: a lost Event must not matter.
      Promise.resolve()
        .then(() => o.events.record(event))
        .catch((err: unknown) => {
          log.warn({ err, reason: event.reason }, 'recording the admission Event failed');
        });
    }
  });
  for (const v of o.validators ?? []) {
    app.post(v.path, express.json({ limit: '4mb' }), async (req: Request, res: Response) => {
      let parsed: ReturnType<typeof parseAdmissionReview>;
      try {
        parsed = parseAdmissionReview(req.body);
      } catch (err) {
        res.status(400).json({ message: (err as Error).message });
        return;
      }
      const response = await v.validate(parsed.request);
      log.info(
        { path: v.path, uid: parsed.request.uid, name: parsed.request.name, allowed: response.allowed },
        'validated',
      );
      res.json(review(response));
    });
  }
  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const status = (err as { status?: number }).status ?? 500;
    if (!(err instanceof AdmissionReviewError)) log.warn({ err }, 'bad webhook request');
    res.status(status >= 400 && status < 600 ? status : 500).json({ message: (err as Error).message });
  });
  return app;
}

/** Starts the HTTPS admission server; resolves once it listens. */
export async function startWebhookServer(o: WebhookServerOptions): Promise<WebhookServer> {
  const app = webhookApp(o);
  const server: Server = createServer({ cert: o.tls.certPem, key: o.tls.keyPem, minVersion: 'TLSv1.2' }, app);
  const host = o.host ?? '0.0.0.0';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let stopped: Promise<void> | undefined;
  return {
    port,
    url: `https://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    setCertificate(tls) {
      server.setSecureContext({ cert: tls.certPem, key: tls.keyPem, minVersion: 'TLSv1.2' });
    },
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}
