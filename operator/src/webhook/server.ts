import { createSecureServer, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
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
import {
  HttpError,
  pathOf,
  readJson,
  sendJson,
  sendText,
  type WebhookRequest,
  type WebhookResponse,
} from './http.ts';
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

/** Pods are at most ~1.5 MB in etcd; a review carries one object (two for an UPDATE). */
const BODY_LIMIT = 4 * 1024 * 1024;

/**
 * The kube-apiserver's webhook client closes its idle connections after 90 s (Go's default transport). A server
 * closing first races the client's next request on that connection, and the apiserver does not retry a POST: the
 * admission fails. So idle HTTP/1.1 connections stay open longer than the client keeps them.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 120_000;

/**
 * HTTP/2 receive windows. The protocol's default, 64 KiB for the whole connection, holds fewer than ten pod
 * reviews: with the kube-apiserver sending every call over one connection (it does for a webhook URL on localhost
 * or a loopback address), a burst of a hundred reviews would wait on each other's window updates, hundreds of
 * milliseconds under load. A window is a promise to buffer, so they are sized for a burst, not unlimited.
 */
const STREAM_WINDOW_BYTES = 1024 * 1024;
const CONNECTION_WINDOW_BYTES = 32 * 1024 * 1024;
/** Go's HTTP/2 server's default; a client with more calls in flight opens another connection. */
const MAX_CONCURRENT_STREAMS = 250;

export type WebhookHandler = (req: WebhookRequest, res: WebhookResponse) => Promise<void>;

/**
 * The request handler of the admission server: POST /mutate-v1-pod and the validators' paths (AdmissionReview
 * v1), GET /healthz. It only uses what node:http and the node:http2 compatibility API have in common, so one
 * server answers HTTP/2 and HTTP/1.1. Side effects (the counter, the Event) happen after the answer and never on
 * dry-run.
 */
export function webhookHandler(o: Omit<WebhookServerOptions, 'tls' | 'port' | 'host'>): WebhookHandler {
  const log = o.logger ?? pino({ level: 'silent' });
  const metrics = webhookMetrics(o.registry);
  const deps = {
    configSource: o.configSource,
    namespaces: o.namespaces,
    settings: o.settings,
    ...(o.mutators ? { mutators: o.mutators } : {}),
  };

  const mutate = async (req: WebhookRequest, res: WebhookResponse, startedAt: number) => {
    const parsed = parseAdmissionReview(await readJson(req, BODY_LIMIT));
    const a = await admitPod(parsed.request, deps);
    sendJson(res, 200, review(a.response));
    metrics.duration.observe({ outcome: a.outcome }, (performance.now() - startedAt) / 1000);
    // Every admission at 100 pods/s would be 100 log lines a second written synchronously; the outcome is
    // already on the pod, in the counter and in the Event, so only errors are logged above debug.
    if (a.outcome === 'error' || log.isLevelEnabled('debug'))
      log[a.outcome === 'error' ? 'warn' : 'debug'](
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
  };

  const validate = (v: Validator) => async (req: WebhookRequest, res: WebhookResponse) => {
    const parsed = parseAdmissionReview(await readJson(req, BODY_LIMIT));
    const response = await v.validate(parsed.request);
    log.info(
      { path: v.path, uid: parsed.request.uid, name: parsed.request.name, allowed: response.allowed },
      'validated',
    );
    sendJson(res, 200, review(response));
  };

  const routes = new Map<
    string,
    (req: WebhookRequest, res: WebhookResponse, startedAt: number) => Promise<void>
  >([[MUTATE_POD_PATH, mutate]]);
  for (const v of o.validators ?? []) routes.set(v.path, validate(v));

  return async (req, res) => {
    const startedAt = performance.now();
    const path = pathOf(req);
    try {
      if (path === HEALTHZ_PATH) {
        if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, `${req.method} ${path}`);
        sendText(res, 200, 'ok');
        return;
      }
      const route = routes.get(path);
      if (!route) throw new HttpError(404, `no route for ${req.method} ${path}`);
      if (req.method !== 'POST') throw new HttpError(405, `${req.method} ${path}: only POST`);
      await route(req, res, startedAt);
    } catch (err) {
      const status = err instanceof HttpError ? err.status : err instanceof AdmissionReviewError ? 400 : 500;
      if (status >= 500) log.warn({ err, path }, 'webhook request failed');
      if (res.headersSent) return;
      try {
        sendJson(res, status, { message: (err as Error).message });
      } catch {
        // The client is gone (reset stream or socket): nobody to answer.
      }
    }
  };
}

/**
 * Starts the admission server, HTTP/2 and HTTP/1.1 over TLS 1.2+ (ALPN picks), and resolves once it listens.
 * The kube-apiserver asks for HTTP/1.1 only when it calls a webhook behind a Service (so concurrent calls spread
 * over connections and endpoints) and negotiates HTTP/2 for a URL on localhost or a loopback address.
 */
export async function startWebhookServer(o: WebhookServerOptions): Promise<WebhookServer> {
  const handle = webhookHandler(o);
  const metrics = webhookMetrics(o.registry);
  const server = createSecureServer({
    cert: o.tls.certPem,
    key: o.tls.keyPem,
    minVersion: 'TLSv1.2',
    allowHTTP1: true,
    settings: { initialWindowSize: STREAM_WINDOW_BYTES, maxConcurrentStreams: MAX_CONCURRENT_STREAMS },
  });
  server.on('session', (session: ServerHttp2Session) => {
    session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
  });
  // Read by the HTTP/1.1 connections allowHTTP1 hands to node:http (not in the http2 server's types).
  (server as unknown as { keepAliveTimeout: number }).keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.on('request', (req, res) => void handle(req, res));
  const sockets = new Set<TLSSocket>();
  server.on('secureConnection', (socket: TLSSocket) => {
    metrics.connections.inc({ protocol: socket.alpnProtocol || 'http/1.1' });
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
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
        for (const s of sockets) s.destroy();
      });
      return stopped;
    },
  };
}
