import type { KubeConfig } from '@kubernetes/client-node';
import type { CertificateAction, WebhookCertificate } from './certs.ts';
import type { TlsMaterial } from './server.ts';
import { patchCaBundle, patchValidatingCaBundle } from './webhook-config.ts';

export interface PublishOptions {
  readonly kc: KubeConfig;
  /** MutatingWebhookConfigurations whose caBundle follows the CA. */
  readonly configurations: readonly string[];
  /** ValidatingWebhookConfigurations whose caBundle follows the CA. */
  readonly validatingConfigurations?: readonly string[];
  readonly server: { setCertificate(tls: TlsMaterial): void };
  /**
   * After a new CA is published in caBundle, how long to keep serving the old certificate so every
   * apiserver has seen the new bundle (its webhook configuration watch) before the new certificate is
   * served. The bundle keeps the old CA, so serving the old certificate meanwhile is safe. Default 10 s.
   */
  readonly propagationDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * The onChange of WebhookCertificateManager for a running webhook: caBundle first (old and new CA),
 * then, after a new CA has had time to reach the apiservers, the new serving certificate.
 */
export function publishCertificate(
  o: PublishOptions,
): (c: WebhookCertificate, action: CertificateAction) => Promise<void> {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  return async (c, action) => {
    let changed = false;
    for (const name of o.configurations)
      changed = (await patchCaBundle(o.kc, name, c.caBundlePem)) || changed;
    for (const name of o.validatingConfigurations ?? [])
      changed = (await patchValidatingCaBundle(o.kc, name, c.caBundlePem)) || changed;
    if (changed && action === 'rotated-ca') await sleep(o.propagationDelayMs ?? 10_000);
    o.server.setCertificate(c);
  };
}
