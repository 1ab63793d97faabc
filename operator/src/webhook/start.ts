import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { CertDirWatcher, certificateNames, type DirCertificate, readCertDir } from './certdir.ts';
import {
  type CertificateSettings,
  ensureWebhookCertificate,
  KubeSecretStore,
  type SecretStore,
  WebhookCertificateManager,
} from './certs.ts';
import { RateLimitedEventRecorder } from './event-limit.ts';
import { type EventRecorder, KubeEventRecorder } from './events.ts';
import { KubeNamespaceLookup } from './namespaces.ts';
import type { ConfigSource, NamespaceLookup, WebhookSettings } from './podmutation/config.ts';
import { publishCertificate } from './rotation.ts';
import { startWebhookServer, type Validator, type WebhookServer } from './server.ts';
import {
  applyWebhookConfiguration,
  buildMutatingWebhookConfiguration,
  WEBHOOK_CONFIGURATION_NAME,
  type WebhookConfigurationSettings,
} from './webhook-config.ts';

export interface InjectionWebhookOptions {
  readonly kc: KubeConfig;
  readonly configSource: ConfigSource;
  readonly settings: WebhookSettings;
  readonly registry: Registry;
  /** The operator's own certificate: the Secret it creates and rotates, and the names it is issued for. */
  readonly certificate: CertificateSettings;
  /**
   * Serve the kubernetes.io/tls Secret mounted in `dir` (cert-manager's or the user's) instead of the
   * operator's own certificate: no Secret is written, no webhook configuration applied or patched (their
   * caBundle is someone else's), and the files are read again when they change.
   */
  readonly certDir?: CertDirSettings;
  /** How the apiserver reaches this server (service or url); operatorNamespace is taken from settings. */
  readonly webhook: Omit<WebhookConfigurationSettings, 'operatorNamespace' | 'caBundlePem'>;
  /** Default 9443. */
  readonly port?: number;
  readonly host?: string;
  readonly logger?: Logger;
  /** Defaults: client-node backed (Events rate-limited, see event-limit.ts). */
  readonly namespaces?: NamespaceLookup;
  readonly events?: EventRecorder;
  readonly secrets?: SecretStore;
  /** Default 1 h. */
  readonly certificateCheckIntervalMs?: number;
  /** See publishCertificate. */
  readonly caPropagationDelayMs?: number;
  /** Extra validating endpoints served by the same HTTPS server. */
  readonly validators?: readonly Validator[];
  /** ValidatingWebhookConfigurations (made by the chart) whose caBundle this operator keeps current. */
  readonly validatingConfigurations?: readonly string[];
}

export interface CertDirSettings {
  readonly dir: string;
  /**
   * The host name (or IP address) the apiserver dials, `<service>.<namespace>.svc` for a Service: a warning
   * is logged when the certificate does not name it, since every call would then fail TLS.
   */
  readonly dialedName: string;
  /** How often the files are read again besides change events. Default 10 s. */
  readonly checkIntervalMs?: number;
}

export interface InjectionWebhook {
  readonly server: WebhookServer;
  /** The operator's own certificate (no certDir). */
  readonly certificates?: WebhookCertificateManager;
  /** The mounted certificate (certDir). */
  readonly certDir?: CertDirWatcher;
  /** Idempotent. */
  stop(): Promise<void>;
}

/**
 * Everything the webhook needs, in order: the certificate (from its Secret, created or rotated as
 * needed), the HTTPS server, the MutatingWebhookConfiguration, its caBundle, and the periodic
 * certificate check. Run it on every replica: the Secret settles concurrent writers.
 */
export async function startInjectionWebhook(o: InjectionWebhookOptions): Promise<InjectionWebhook> {
  if (o.certDir !== undefined) return startFromCertDir(o, o.certDir);
  const store = o.secrets ?? new KubeSecretStore(o.kc);
  const first = await ensureWebhookCertificate(store, o.certificate);
  const server = await startWebhookServer(serverOptions(o, first.certificate));
  try {
    const config = buildMutatingWebhookConfiguration({
      ...o.webhook,
      operatorNamespace: o.settings.operatorNamespace,
    });
    await applyWebhookConfiguration(o.kc, config);
    const certificates = new WebhookCertificateManager(store, o.certificate, {
      onChange: publishCertificate({
        kc: o.kc,
        configurations: [config.metadata?.name ?? WEBHOOK_CONFIGURATION_NAME],
        ...(o.validatingConfigurations ? { validatingConfigurations: o.validatingConfigurations } : {}),
        server,
        ...(o.caPropagationDelayMs !== undefined ? { propagationDelayMs: o.caPropagationDelayMs } : {}),
      }),
      onError: (err) => o.logger?.warn({ err }, 'webhook certificate check failed'),
    });
    await certificates.ensure();
    certificates.start(o.certificateCheckIntervalMs);
    return {
      server,
      certificates,
      async stop() {
        certificates.stop();
        await server.stop();
      },
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/**
 * The webhook server on a mounted certificate: served as read, swapped for a new one when the files change
 * (an unusable change is reported and the previous certificate kept). Nothing is written to the cluster.
 */
async function startFromCertDir(o: InjectionWebhookOptions, d: CertDirSettings): Promise<InjectionWebhook> {
  const dir = d.dir;
  const checkNames = (c: DirCertificate) => {
    if (!certificateNames(c, d.dialedName))
      o.logger?.warn(
        { dir, names: c.dnsNames, expected: d.dialedName },
        'the mounted webhook certificate does not name the host the apiserver dials: every call will fail TLS',
      );
    if (c.notAfter.getTime() < Date.now())
      o.logger?.warn({ dir, notAfter: c.notAfter }, 'the mounted webhook certificate has expired');
  };
  const first = await readCertDir(dir);
  checkNames(first);
  const server = await startWebhookServer(serverOptions(o, first));
  const serve = (c: DirCertificate) => {
    checkNames(c);
    server.setCertificate(c);
    o.logger?.info({ dir, notAfter: c.notAfter }, 'serving the new webhook certificate from the directory');
  };
  const watcher = new CertDirWatcher({
    dir,
    ...(d.checkIntervalMs !== undefined ? { intervalMs: d.checkIntervalMs } : {}),
    onChange: serve,
    onError: (err) =>
      o.logger?.warn(
        { err, dir },
        'the webhook certificate directory is unusable; still serving the previous',
      ),
  });
  try {
    // Watching starts now; a change since the first read is served at once.
    const now = await watcher.start();
    if (now.certPem !== first.certPem || now.keyPem !== first.keyPem) serve(now);
  } catch (err) {
    await server.stop();
    throw err;
  }
  o.logger?.info({ dir, notAfter: first.notAfter }, 'serving the webhook certificate from the directory');
  return {
    server,
    certDir: watcher,
    async stop() {
      watcher.stop();
      await server.stop();
    },
  };
}

/** The server's options from the webhook's, whichever way its certificate comes. */
function serverOptions(
  o: InjectionWebhookOptions,
  tls: Parameters<typeof startWebhookServer>[0]['tls'],
): Parameters<typeof startWebhookServer>[0] {
  return {
    configSource: o.configSource,
    namespaces: o.namespaces ?? new KubeNamespaceLookup(o.kc),
    settings: o.settings,
    events: o.events ?? new RateLimitedEventRecorder(new KubeEventRecorder(o.kc), o.registry),
    registry: o.registry,
    tls,
    port: o.port ?? 9443,
    ...(o.host ? { host: o.host } : {}),
    ...(o.logger ? { logger: o.logger } : {}),
    ...(o.validators ? { validators: o.validators } : {}),
  };
}
