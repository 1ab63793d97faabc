import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import {
  type CertificateSettings,
  ensureWebhookCertificate,
  KubeSecretStore,
  type SecretStore,
  WebhookCertificateManager,
} from './certs.ts';
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
  readonly certificate: CertificateSettings;
  /** How the apiserver reaches this server (service or url); operatorNamespace is taken from settings. */
  readonly webhook: Omit<WebhookConfigurationSettings, 'operatorNamespace' | 'caBundlePem'>;
  /** Default 9443. */
  readonly port?: number;
  readonly host?: string;
  readonly logger?: Logger;
  /** Defaults: client-node backed. */
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

export interface InjectionWebhook {
  readonly server: WebhookServer;
  readonly certificates: WebhookCertificateManager;
  /** Idempotent. */
  stop(): Promise<void>;
}

/**
 * Everything the webhook needs, in order: the certificate (from its Secret, created or rotated as
 * needed), the HTTPS server, the MutatingWebhookConfiguration, its caBundle, and the periodic
 * certificate check. Run it on every replica: the Secret settles concurrent writers.
 */
export async function startInjectionWebhook(o: InjectionWebhookOptions): Promise<InjectionWebhook> {
  const store = o.secrets ?? new KubeSecretStore(o.kc);
  const first = await ensureWebhookCertificate(store, o.certificate);
  const server = await startWebhookServer({
    configSource: o.configSource,
    namespaces: o.namespaces ?? new KubeNamespaceLookup(o.kc),
    settings: o.settings,
    events: o.events ?? new KubeEventRecorder(o.kc),
    registry: o.registry,
    tls: first.certificate,
    port: o.port ?? 9443,
    ...(o.host ? { host: o.host } : {}),
    ...(o.logger ? { logger: o.logger } : {}),
    ...(o.validators ? { validators: o.validators } : {}),
  });
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
